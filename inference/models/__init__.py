"""The models: the registry (a models folder or the offline tiny preset), the presets' sizes and default
parameters, the CLIP vocabulary, the VAE's encode/decode, PhotoMaker V2's weights (photomaker/), and
device choice."""
