"""`anpr load`: check a CBS delivery against the contract and load it into the raw layer."""

from .loader import LoadResult, load_delivery
from .problems import DeliveryRefused, Problem

__all__ = ["DeliveryRefused", "LoadResult", "Problem", "load_delivery"]
