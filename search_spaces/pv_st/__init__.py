"""The pv_st search spaces (PV-NAS-like temporal op per block: ResNet-50 ``pv_st``, ResNet-101 ``pv_st_m``)."""
from search_spaces.pv_st.space import PvStMSpace, PvStSpace, PvStTinySpace

__all__ = ["PvStSpace", "PvStMSpace", "PvStTinySpace"]
