"""The models: the registry (a models folder or the offline tiny preset), the presets' sizes and default
parameters, the CLIP vocabulary, the VAE's encode/decode, and device choice."""
