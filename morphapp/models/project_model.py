"""The model of a project: find it in the project's latent space, record its files, notice changes.

A project records the SHA-256 and format of each weights file it was rendered with, and the
latent channels. Opening it again looks for a model of the same latent space (another space
gives entirely different frames, so that is an error unless the user names a model), and
returns a note for every recorded file whose content changed since.
"""

from __future__ import annotations

from dataclasses import replace

from morphapp.core.domain.project import ModelFile, Project
from morphapp.models.discovery import find_model
from morphapp.models.info import ModelInfo
from morphapp.models.weights import sha256_file, sniff_format


def model_for_project(project: Project, explicit: bool = False) -> tuple[ModelInfo, list[str]]:
    """The model to render ``project`` with, and notes on how it differs from the recorded one.

    ``explicit``: the user chose the model for this run (``--model``), so another latent space
    is their call; it is then a note, not an error.
    """
    info = find_project_model(project, explicit)
    return info, model_changes(project, info)


def find_project_model(project: Project, explicit: bool = False) -> ModelInfo:
    """``model_for_project``'s model alone (no notes: hashing the weights costs seconds for a
    diffusion checkpoint): the one rule the CLI and the window both pick a project's model by."""
    wanted = None if explicit else project.model_latent_channels
    return find_model(project.model, latent_channels=wanted)


def model_files(info: ModelInfo) -> tuple[ModelFile, ...]:
    if info.combined and info.decoder is not None:
        roles = [("encoder+decoder" if info.encoder else "decoder", info.decoder)]
    else:
        roles = [
            (role, path) for role, path in (("encoder", info.encoder), ("decoder", info.decoder)) if path
        ]
    return tuple(
        ModelFile(role, path.name, sniff_format(path), path.stat().st_size, sha256_file(path))
        for role, path in roles
    )


def with_model(project: Project, info: ModelInfo) -> Project:
    """``project`` with the files and latent space of ``info`` recorded."""
    return replace(project, model_files=model_files(info), model_latent_channels=info.latent_channels)


def model_changes(project: Project, info: ModelInfo) -> list[str]:
    if not project.model_files:
        return []  # made before projects recorded their model
    notes = []
    if project.model_latent_channels not in (None, info.latent_channels):
        notes.append(
            f"the project was made in a {project.model_latent_channels}-channel latent space; {info.name} "
            f"is {info.latent_channels}-channel ({info.latent_space}), so the frames will look different"
        )
    recorded = {f.role: f for f in project.model_files}
    current = model_files(info)
    if set(recorded) != {f.role for f in current}:
        names = ", ".join(f.name for f in project.model_files)
        notes.append(f"model files changed since the project was saved (it recorded {names})")
    for now in current:
        before = recorded.get(now.role)
        if before is not None and before.sha256 != now.sha256:
            notes.append(
                f"model file changed since the project was saved: {now.role} {now.name} has sha256 "
                f"{now.sha256[:12]}…, the project recorded {before.name} {before.sha256[:12]}…; "
                "frames may differ from earlier renders"
            )
    return notes
