"""Data parallelism against a single process: two CPU processes (gloo) each given half of a global batch
(and half of the noise) take one full training step (D then G, Adam) and must end with the parameters a
single process reaches on the whole batch, to float tolerance. By design a run's data shards and noise
differ per rank (tests/test_train_ddp.py), so the maths is compared on one step with the same inputs: the
harness hands each rank its half of the batch and of the noise. And a rank that dies gives the others one
clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from helpers import free_port
from safetensors.torch import load_file, save_file

pytestmark = pytest.mark.slow

M = 16  # per process; the single process takes 2 * M
OPTS = dict(variant="mlp", objective="non-saturating", data="ring8", seed=5, progress=False,
            config={"g_hidden": [16], "d_hidden": [16], "latent_dim": 8})


def _global_inputs():
    g = torch.Generator().manual_seed(123)
    x = torch.randn(2 * M, 2, generator=g)
    z_d, z_g = torch.randn(2 * M, 8, generator=g), torch.randn(2 * M, 8, generator=g)
    return x, z_d, z_g


def _one_step(out: str, rank: int, world: int) -> dict:
    """One Trainer step on this rank's half of the global batch and noise; the parameters after it."""
    import ganzoo.training.steps as steps
    from ganzoo.training import TrainConfig, Trainer

    x, z_d, z_g = _global_inputs()
    half = slice(rank * M, (rank + 1) * M) if world > 1 else slice(None)
    noise = iter([z_d[half], z_g[half]])
    real_randn = torch.randn

    def randn(*shape, **kw):  # the step's two draws of z: this rank's half of the global noise
        if shape and tuple(shape) == (M * (2 if world == 1 else 1), 8):
            return next(noise).clone()
        return real_randn(*shape, **kw)

    steps.torch.randn = randn
    try:
        t = Trainer(TrainConfig(out=out, steps=1, batch_size=M * (2 if world == 1 else 1), **OPTS)).setup()
        t.step(lambda: (x[half].clone(), None))
        state = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        # close the group as fit() does (it is not called here): both ranks past their collectives first, so
        # neither tears gloo down under the other (left to interpreter teardown, a rank sometimes aborted: SIGABRT)
        t.dist.barrier()
        t.dist.close()
        return state
    finally:
        steps.torch.randn = real_randn


def _rank_main(rank: int, world: int, port: int, out: str, result: str, die: bool):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    if die and rank == 1:
        from ganzoo.training import TrainConfig, Trainer

        Trainer(TrainConfig(out=out, steps=1, batch_size=M, **OPTS)).setup()  # joins the group ...
        os._exit(3)  # ... and dies before its first step
    try:
        state = _one_step(out, rank, world)
        save_file(state, f"{result}.{rank}")
    except BaseException as exc:  # noqa: BLE001 - the surviving rank reports what it saw
        Path(f"{result}.{rank}.err").write_text(f"{type(exc).__module__}.{type(exc).__name__}: {exc}")
        # exit now: this harness drives Trainer.step, not fit (which closes the group), and a gloo group whose
        # peer died, left to interpreter teardown, sometimes aborts the process (SIGABRT, "terminate called")
        os._exit(1)


def _spawn(tmp_path, die=False):
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    port, result = free_port(), str(tmp_path / "state")
    procs = [ctx.Process(target=_rank_main, args=(r, 2, port, str(tmp_path / f"out{r}"), result, die))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        if p.is_alive():
            p.kill()
            p.join()
    return [p.exitcode for p in procs], result


def test_two_ranks_take_the_same_step_as_one_process_on_the_whole_batch(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    single = _one_step(str(tmp_path / "single"), 0, 1)
    codes, result = _spawn(tmp_path)
    assert codes == [0, 0], [Path(f"{result}.{r}.err").read_text() for r in range(2) if Path(f"{result}.{r}.err").exists()]
    before = _initial_state()
    for rank in range(2):
        got = load_file(f"{result}.{rank}")
        assert got.keys() == single.keys()
        moved = 0
        for k, v in single.items():
            torch.testing.assert_close(got[k], v, rtol=1e-5, atol=1e-6, msg=f"rank {rank}: {k}")
            moved += int(not torch.equal(v, before[k]))
        assert moved >= 4  # the step changed the weights (of G and D): the comparison is not of an idle model


def _initial_state() -> dict:
    import tempfile

    from ganzoo.training import TrainConfig, Trainer

    with tempfile.TemporaryDirectory() as d:
        t = Trainer(TrainConfig(out=d + "/o", steps=1, batch_size=2 * M, **OPTS)).setup()
        return {k: v.detach().clone() for k, v in t.model.state_dict().items()}


@pytest.mark.reliability("fault")
def test_a_rank_that_dies_gives_the_other_one_clear_error(tmp_path):
    import reliability

    codes, result = _spawn(tmp_path, die=True)
    assert codes[1] == 3  # observed: rank 1 died (exit 3) after joining the group
    reliability.fault("a data-parallel rank dies")
    assert codes[0] == 1, codes
    err = Path(f"{result}.0.err").read_text()
    assert err.startswith("ganzoo.errors.TrainingError: ") and "\n" not in err, err
    assert "rank" in err and "--resume" in err, err
