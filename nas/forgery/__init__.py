"""Face-forgery detection on derived backbones: F3-Net's frequency streams, the detector and its metrics."""
