"""Dataset readers: the MEGC2019 composite, the raw datasets' coding tables, and semi-synthetic pairs."""

from frl_core.data.common import DatasetError, DatasetWarning

__all__ = ["DatasetError", "DatasetWarning"]
