"""The forgery options of the retrain config: the issue's names, the renamed old names, stored-config migration."""
import pytest
import yaml

from nas.config import build_config, from_dict
from nas.config.retrain import RetrainConfig
from nas.errors import NasError
from nas.tasks.forgery import detector_kwargs


def test_new_names_reach_the_detector():
    cfg = build_config(RetrainConfig, opts=["task=forgery_image", "model.streams=mix", "mix.at=s8, s32",
                                            "lfs.split=log", "lfs.order=reimpl", "fad.all_band=true",
                                            "model.lfs_genotype=st_topo:mobilenetv2"])
    kw = detector_kwargs(cfg, "forgery_image")
    assert (kw["streams"], kw["mix_at"], kw["lfs_split"], kw["lfs_order"], kw["fad_all_band"]) == (
        "mix", ("s8", "s32"), "log", "reimpl", True)
    assert kw["lfs_genotype"] == "st_topo:mobilenetv2"


@pytest.mark.parametrize("old,new", sorted(RetrainConfig.RENAMED.items()))
def test_old_name_in_a_recipe_names_the_new_key(old, new, tmp_path):
    layer: object = "x"
    for part in reversed(old.split(".")):  # "data.video_root" -> {"data": {"video_root": "x"}}; "amp" -> {"amp": "x"}
        layer = {part: layer}
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(layer))
    with pytest.raises(NasError, match=f"'{old}' \\(in recipe r.yaml\\) was renamed to '{new}'"):
        build_config(RetrainConfig, recipe=str(recipe))


def test_old_names_of_a_stored_config_are_migrated():
    # a checkpoint written before the rename carries forgery.streams etc.; it must still resume and evaluate
    cfg = from_dict(RetrainConfig, {"forgery": {"streams": "mix", "mix_at": "s16", "lfs_split": "log",
                                                "fad_all_band": True, "classes": "2,3"}})
    assert (cfg.model.streams, cfg.mix.at, cfg.lfs.split, cfg.fad.all_band, cfg.forgery.classes) == (
        "mix", "s16", "log", True, "2,3")
    # base (a run's stored config) is migrated too, and a later override with the new name wins
    cfg = build_config(RetrainConfig, base={"forgery": {"streams": "lfs"}}, opts=["model.streams=both"])
    assert cfg.model.streams == "both"


@pytest.mark.parametrize("opt,msg", [("model.streams=fft", "model.streams must be one of"),
                                     ("lfs.order=other", "lfs.order must be one of"),
                                     ("mix.at=[s16]", "config key 'mix.at' must be str")])
def test_bad_values_name_the_key_written(opt, msg):
    with pytest.raises(NasError, match=msg):
        build_config(RetrainConfig, opts=[opt])
