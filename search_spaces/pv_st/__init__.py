"""The pv_st search spaces (PV-NAS-like spatio-temporal op per block; light ``pv_st`` and median ``pv_st_m``)."""
from search_spaces.pv_st.space import PvStMSpace, PvStSpace

__all__ = ["PvStSpace", "PvStMSpace"]
