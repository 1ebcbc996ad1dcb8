"""The face stage: detection, 68 landmarks, alignment onto the canonical face, AU regions."""

from frl_core.faces.tracking import (
    FOLLOW_RULES,
    LANDMARK_BACKENDS,
    MSG_FACE_LOST,
    MSG_NO_FACE,
    MSG_REPLACED,
    MSG_SWITCHED,
    MSG_WHOLE_FRAME,
    RIGID_POINTS,
    FaceConfig,
    FaceModelError,
    FaceTracker,
    align_face,
    alignment_matrix,
    face_models,
    several_faces_message,
    to_gray,
)
from frl_core.faces.pair import AlignedPair, FacePatch, align_pair, face_patch

__all__ = [
    "FOLLOW_RULES",
    "AlignedPair",
    "FacePatch",
    "align_pair",
    "face_patch",
    "LANDMARK_BACKENDS",
    "MSG_FACE_LOST",
    "MSG_SWITCHED",
    "MSG_NO_FACE",
    "MSG_REPLACED",
    "MSG_WHOLE_FRAME",
    "RIGID_POINTS",
    "FaceConfig",
    "FaceModelError",
    "FaceTracker",
    "align_face",
    "alignment_matrix",
    "face_models",
    "several_faces_message",
    "to_gray",
]
