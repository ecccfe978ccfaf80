"""Which model renders a project, and what the project records of it: one rule for both faces."""

from __future__ import annotations

import dataclasses

from morphapp.core.domain.project import Project
from morphapp.models.info import ModelInfo
from morphapp.models.project_model import with_model


def with_model_recorded(project: Project, info: ModelInfo) -> Project:
    """``project`` as rendered with ``info``: the model's files and latent space recorded, and the
    model named (the default one too), so that the project and its exports say what made them and
    open with the same model elsewhere."""
    return dataclasses.replace(with_model(project, info), model=project.model or info.name)
