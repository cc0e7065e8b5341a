"""Checkpoints: sharded saves merged into one loadable model, content fingerprints, the code version.

Under FSDP with ``SHARDED_STATE_DICT`` (the 102B recipe), ``Trainer.save_model`` writes no weights at all, so a
stage's ``final`` would hold only its lineage and the next stage could not load it. ``save_consolidated`` saves
the sharded model with torch.distributed.checkpoint (every rank writes its own shards, no rank holds the whole
model) and then merges the shards on the main process into a Hugging Face checkpoint (sharded safetensors + index)
that ``from_pretrained`` loads: the same conversion as ``accelerate merge-weights`` (torch's
``dcp_to_torch_save``), written into safetensors files of at most 5 GB by huggingface_hub. The merge reads the
torch file memory-mapped, so its host memory is the page cache, not a second copy of the 204 GB.

``checkpoint_fingerprint`` names a checkpoint by its content (config, index, every weight file's sha256), which
is what keys the KTO reference cache: a name can point at different weights, content cannot.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import torch

MERGED_SHARD_SIZE = "5GB"  # the size Hugging Face uses for its own checkpoints
FINGERPRINT_FILES = ("config.json", "model.safetensors.index.json")


def is_sharded(model: torch.nn.Module) -> bool:
    """True when the parameters are DTensors (FSDP2's fully_shard)."""
    return any(type(p).__name__ == "DTensor" for p in model.parameters())


def save_sharded(model: torch.nn.Module, directory: str | Path) -> Path:
    """Every rank writes its shards of the model's state dict (torch.distributed.checkpoint); collective."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    dcp.save({"model": get_model_state_dict(model)}, checkpoint_id=str(directory))
    return Path(directory)


def merge_sharded(directory: str | Path, out: str | Path) -> Path:
    """One process: the sharded checkpoint in `directory` as safetensors files (+ index) in `out`."""
    from huggingface_hub import save_torch_state_dict
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flat = out / "merged.pt.tmp"
    dcp_to_torch_save(str(directory), str(flat))
    try:
        state = torch.load(flat, mmap=True, weights_only=True)
        state = state.get("model", state)
        save_torch_state_dict(state, out, max_shard_size=MERGED_SHARD_SIZE)
    finally:
        flat.unlink(missing_ok=True)
    return out


def save_consolidated(model, out: str | Path, is_main: bool, barrier, tokenizer=None) -> Path:
    """Sharded save on every rank, then the merge, config and tokenizer on the main one; collective."""
    out = Path(out)
    sharded = out / "sharded-dcp"
    save_sharded(model, sharded)
    barrier()
    if is_main:
        merge_sharded(sharded, out)
        model.config.save_pretrained(out)
        if tokenizer is not None:
            tokenizer.save_pretrained(out)
        shutil.rmtree(sharded)
    barrier()
    return out


def checkpoint_fingerprint(directory: str | Path) -> str:
    """'content-sha256:<hex>' over config.json, the index and the sha256 of every weight file, in name order.

    Reads every weight file once (204 GB at 102B: minutes at disk speed, once per reference, on one rank).
    """
    directory = Path(directory)
    h = hashlib.sha256()
    for name in FINGERPRINT_FILES:
        path = directory / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    weights = sorted(p for p in directory.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not weights:
        raise FileNotFoundError(f"{directory}: no weight files to fingerprint")
    for path in weights:
        with path.open("rb") as f:
            file_hash = hashlib.file_digest(f, "sha256")
        h.update(f"{path.name}\0{file_hash.hexdigest()}\0".encode())
    return "content-sha256:" + h.hexdigest()


def code_commit(root: str | Path | None = None) -> str:
    """The git commit of the training code (with '-dirty' for uncommitted changes), or 'unknown'."""
    root = Path(root or Path(__file__).resolve().parents[1])
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "training"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> None:
    """``python -m training.checkpoint merge SHARDED_DIR OUT [--config-from CHECKPOINT]``: one process, no GPU."""
    import argparse

    parser = argparse.ArgumentParser(description="Merge a sharded (torch.distributed.checkpoint) model into one")
    parser.add_argument("command", choices=["merge"])
    parser.add_argument("sharded", help="e.g. <output_dir>/checkpoint-1000/pytorch_model_fsdp_0")
    parser.add_argument("out", help="directory for the merged safetensors checkpoint")
    parser.add_argument("--config-from", default=None, help="directory whose config.json and tokenizer to copy")
    args = parser.parse_args(argv)
    out = merge_sharded(args.sharded, args.out)
    if args.config_from:
        for path in Path(args.config_from).iterdir():
            if path.is_file() and (path.name == "config.json" or path.name.startswith(("tokenizer", "special_"))):
                shutil.copy2(path, out / path.name)
    print(f"merged checkpoint: {out}")


if __name__ == "__main__":
    main()
