"""PhotoMaker V2's weights: the ID encoder's architecture (encoder.py), the official checkpoint file
(checkpoint.py) and its LoRA merged into the UNet (lora.py). Loading them is the registry's job, so they
sit with the other models; fusing an identity into a prompt is inference.identity's."""
