"""Frames in (video files, frame folders, cameras) and results out (CSV, JSON, PNG, annotated video)."""
