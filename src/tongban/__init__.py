"""tongban (通办): an open-source 一网通办 integrated government-service platform."""

__version__ = "0.1.0"
