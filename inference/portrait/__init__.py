"""The portrait: stage 1 (SDXL + identity), stage 2 (face detailing), and what they share (sampling:
the guided denoiser and both samplers; conditioning, scheduler, masks, crops, previews, progress);
`pipeline.PortraitPipeline` runs both for a batch."""
