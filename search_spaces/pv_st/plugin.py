"""The pv_st plugins: the light (``pv_st``) and median (``pv_st_m``) spatio-temporal video spaces."""
from nas.plugins import SpacePlugin
from search_spaces.pv_st.space import PvStMSpace, PvStSpace

__all__ = ["PLUGIN", "PLUGIN_M"]

_COMMON = dict(model="search_spaces.pv_st.model:build_model", backbone="search_spaces.pv_st.model:build_backbone",
               plotter="search_spaces.pv_st.plot:plot_pv_st", modality="video", default_strategy="differentiable",
               differentiable=True)

PLUGIN = SpacePlugin(space=PvStSpace(), supernet="search_spaces.pv_st.supernet:PvStSupernet", **_COMMON)
PLUGIN_M = SpacePlugin(space=PvStMSpace(), supernet="search_spaces.pv_st.supernet:PvStMSupernet", **_COMMON)
