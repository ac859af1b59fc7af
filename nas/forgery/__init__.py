"""Face-forgery detection on derived backbones: F3-Net's frequency streams, the detector and its metrics."""
from nas.forgery.detector import LABEL_SETS, STREAMS, Detector, DetectorSpec, create_detector
from nas.forgery.frequency import FAD, LFS
from nas.forgery.fusion import MixBlock, inflate_stem
from nas.forgery.metrics import auc, average_precision, balanced_accuracy, eer, spatial_metrics

__all__ = ["create_detector", "Detector", "DetectorSpec", "STREAMS", "LABEL_SETS", "FAD", "LFS", "MixBlock",
           "inflate_stem", "auc", "eer", "average_precision", "balanced_accuracy", "spatial_metrics"]
