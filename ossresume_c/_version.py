"""The package's version, written once: read by ``ossresume_c.__version__``, the
User-Agent and the packaging (pyproject.toml's dynamic version)."""
__version__ = "0.1.0"
