"""PhotoMaker V2 identity: the ID encoder, the official checkpoint format, the trigger word, the LoRA."""
