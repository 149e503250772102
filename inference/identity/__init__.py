"""PhotoMaker V2 identity: the sitter's face fused into the prompt (conditioner.py), the trigger word
(trigger.py) and the ID photos' pixels (preprocess.py). The encoder's weights, checkpoint and LoRA are
models (inference.models.photomaker); the text encoder is inference.text."""
