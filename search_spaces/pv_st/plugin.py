"""The pv_st plugins: light (``pv_st``), median (``pv_st_m``) and test-size (``pv_st_tiny``) video spaces."""
from nas.plugins import SpacePlugin
from search_spaces.pv_st.space import PvStMSpace, PvStSpace, PvStTinySpace

__all__ = ["PLUGIN", "PLUGIN_M", "PLUGIN_TINY"]

_COMMON = dict(model="search_spaces.pv_st.model:build_model", backbone="search_spaces.pv_st.model:build_backbone",
               plotter="search_spaces.pv_st.plot:plot_pv_st", modality="video", default_strategy="differentiable",
               differentiable=True, latency_block="search_spaces.pv_st.latency:build_block",
               # where a video search starts apart from the shared defaults: no MAdds limit, the data's classes,
               # 8-frame targets, a 1/8-width proxy on the embedded motion set, four finalists of six epochs
               search_defaults={"madds": None, "num_classes": None, "frames": 8, "supernet": {"width": 0.125},
                                "data": {"train_size": 384, "val_size": 192}, "finalists": {"k": 4, "epochs": 6}})

_RESNET = "search_spaces.pv_st.pretrained:import_resnet"  # torchvision ResNet-50 (pv_st) / ResNet-101 (pv_st_m)
PLUGIN = SpacePlugin(space=PvStSpace(), supernet="search_spaces.pv_st.supernet:PvStSupernet", pretrained=_RESNET,
                     **_COMMON)
PLUGIN_M = SpacePlugin(space=PvStMSpace(), supernet="search_spaces.pv_st.supernet:PvStMSupernet", pretrained=_RESNET,
                       **_COMMON)
PLUGIN_TINY = SpacePlugin(space=PvStTinySpace(), supernet="search_spaces.pv_st.supernet:PvStTinySupernet", **_COMMON)
