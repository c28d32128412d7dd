"""OSS's public regions and their endpoints, as DescribeRegions (``GET /?regions``) lists them.

A snapshot of the regions OSS documents ("Regions and endpoints"); each region's Internet
endpoint is ``oss-<id>.aliyuncs.com``, its internal one ``oss-<id>-internal.aliyuncs.com``,
and the acceleration endpoint ``oss-accelerate.aliyuncs.com``. The emulator's own region
is listed too when it is not one of them.
"""
from __future__ import annotations

from typing import List, Optional

from .errors import OssError
from .xmlout import Element

PUBLIC_REGIONS = tuple(
    """
    cn-hangzhou cn-shanghai cn-nanjing cn-fuzhou cn-wuhan-lr cn-qingdao cn-beijing cn-zhangjiakou
    cn-huhehaote cn-wulanchabu cn-shenzhen cn-heyuan cn-guangzhou cn-chengdu cn-hongkong
    ap-northeast-1 ap-northeast-2 ap-southeast-1 ap-southeast-3 ap-southeast-5 ap-southeast-6
    ap-southeast-7 eu-central-1 eu-west-1 us-west-1 us-east-1 me-east-1
    """.split()
)
ACCELERATE_ENDPOINT = "oss-accelerate.aliyuncs.com"


def oss_region_id(region: str) -> str:
    """``cn-hangzhou`` -> ``oss-cn-hangzhou`` (the form DescribeRegions uses)."""
    return region if region.startswith("oss-") else f"oss-{region}"


def region_infos(own_region: str, wanted: Optional[str]) -> List[Element]:
    """``RegionInfo`` elements: every region, or just ``wanted`` (an OSS region id such as
    ``oss-cn-hangzhou``); a region OSS does not have is 404 NoSuchRegion."""
    ids = [oss_region_id(r) for r in PUBLIC_REGIONS]
    own = oss_region_id(own_region)
    if own not in ids:
        ids.append(own)
    if wanted:
        if wanted not in ids:
            raise OssError("NoSuchRegion", f"The region {wanted} does not exist.", status=404, RegionId=wanted)
        ids = [wanted]
    return [("RegionInfo", [("Region", rid), ("InternetEndpoint", f"{rid}.aliyuncs.com"),
                            ("InternalEndpoint", f"{rid}-internal.aliyuncs.com"),
                            ("AccelerateEndpoint", ACCELERATE_ENDPOINT)]) for rid in ids]
