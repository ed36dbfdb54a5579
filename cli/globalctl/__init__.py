"""globalctl: roll a multi-region, active-active AWS SAM backend out to every region safely."""

__version__ = "0.1.0"
