"""Commands that print figures: the model, the pipeline, the spotter and recogniser on generated video."""
