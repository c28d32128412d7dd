import base64

from ossresume_c import status as st

ERR = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
       b"<Message>The request signature we calculated does not match</Message>"
       b"<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>h</HostId>"
       b"<StringToSign>PUT\n\n\n</StringToSign></Error>")


def test_ok_and_str():
    s = st.Status(200, req_id="ABC")
    assert s.is_ok() and st.status_is_ok(s)
    assert bool(st.Status(-994, "X"))   # a Status is an object: an error one is not falsy
    assert str(s) == "OK 200 (request id ABC)"
    assert not st.Status(302).is_ok() and not st.Status(-998).is_ok() and not st.Status(0).is_ok()


def test_error_xml_parsed():
    s = st.status_from_response(403, {"x-oss-request-id": "5C3D9175B6FC201293AD4890"}, ERR)
    assert (s.code, s.error_code, s.req_id) == (403, "SignatureDoesNotMatch", "5C3D9175B6FC201293AD4890")
    assert s.string_to_sign == "PUT\n\n\n"
    assert "SignatureDoesNotMatch" in str(s) and "\n" not in str(s).split(":")[0]


def test_head_error_from_x_oss_err():
    hdrs = {"x-oss-err": base64.b64encode(ERR.replace(b"SignatureDoesNotMatch", b"NoSuchKey")).decode(),
            "x-oss-request-id": "R"}
    s = st.status_from_response(404, hdrs, b"")
    assert s.error_code == "NoSuchKey" and s.req_id == "5C3D9175B6FC201293AD4890"


def test_error_without_body_keeps_request_id():
    s = st.status_from_response(404, {"x-oss-request-id": "RID"}, b"")
    assert (s.code, s.error_code, s.req_id) == (404, "UnknownError", "RID")


def test_local_codes_have_c_values():
    assert (st.HTTP_IO_ERROR, st.INTERNAL_ERROR, st.INVALID_ARGUMENT, st.OPEN_FILE_ERROR,
            st.XML_PARSE_ERROR, st.INCONSISTENT_ERROR) == (-998, -996, -994, -985, -980, -978)


def test_sts_token_echoed_in_string_to_sign_is_masked():
    body = (b"<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message><RequestId>R</RequestId>"
            b"<StringToSign>PUT\n\n\nDate\nx-oss-security-token:TOPSECRET\n/b/k?security-token=TOPSECRET"
            b"</StringToSign></Error>")
    s = st.status_from_response(403, {}, body)
    assert s.error_code == "SignatureDoesNotMatch"
    assert "x-oss-security-token:***" in s.string_to_sign and "security-token=***" in s.string_to_sign
    assert b"TOPSECRET" not in b"".join(s.resp_body) and "TOPSECRET" not in s.string_to_sign
