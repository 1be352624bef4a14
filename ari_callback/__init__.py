"""ari-callback: a callback server for Asterisk, driven over ARI."""

__version__ = "0.1.0"
