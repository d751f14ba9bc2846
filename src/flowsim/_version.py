"""The version of flowsim (one place, read by the build and by every file flowsim writes)."""

__version__ = "0.2.0"
