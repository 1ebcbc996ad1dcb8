"""``python main.py bench model``: parameters, FLOPs and latency of each FRL-DGT variant, mode and fusion.

CPU: batch-1 latency and batch-32 throughput with the thread count used. CUDA (when torch sees a
GPU): fp32 and AMP (float16 autocast) batch-1 latency and AMP batched pairs per second. Latencies
are medians over ``--repeats`` timed calls after warm-up, under ``torch.inference_mode``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from frl_core.models import create_model, list_models
from frl_core.models.frl_dgt import FUSIONS, INPUT_MODES, FRLDGT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", default=list_models(), choices=list_models(),
                        help="model variants to measure (default: all)")
    parser.add_argument("--modes", nargs="+", default=list(INPUT_MODES), choices=INPUT_MODES,
                        help="input modes to measure (default: pair and flow)")
    parser.add_argument("--fusions", nargs="+", default=list(FUSIONS), choices=FUSIONS,
                        help="fusion modules to measure (default: Fu-B-Attn and concat-after-attention)")
    parser.add_argument("--img-size", type=int, default=None,
                        help="pair-mode face size (default: each variant's own, 224)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's, the core count)")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per batch-1 figure (default 50)")
    parser.add_argument("--batch", type=int, default=32, help="CPU batch for the throughput figure (default 32)")
    parser.add_argument("--gpu-batch", type=int, default=512, help="CUDA batch for pairs/s (default 512)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CPU, plus CUDA when torch sees a GPU")


def make_inputs(model: FRLDGT, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    if cfg.input_mode == "pair":
        shape = (batch, 1, cfg.img_size, cfg.img_size)
        return torch.rand(shape, generator=g).to(device), torch.rand(shape, generator=g).to(device)
    return (torch.rand(batch, 3, cfg.flow_input_size, cfg.flow_input_size, generator=g).to(device),)


def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def count_flops(model: FRLDGT) -> int:
    """Forward FLOPs of one sample (a multiply-add counts 2), by ``torch.utils.flop_counter``.

    The counter has no formula for the CPU attention kernel, so the CUDA kernels' one is lent to it.
    """
    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flops}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter, torch.inference_mode():
        model(*make_inputs(model, 1, torch.device("cpu")))
    return int(counter.get_total_flops())


def median_ms(fn: Callable[[], object], repeats: int, warmup: int, sync: Callable[[], None]) -> float:
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0


def measure(name: str, mode: str, fusion: str, args: argparse.Namespace, cuda: bool) -> dict[str, object]:
    overrides: dict[str, object] = {"input_mode": mode, "fusion": fusion}
    if args.img_size is not None:
        overrides["img_size"] = args.img_size
    torch.manual_seed(0)
    model = create_model(name, **overrides).eval()
    row: dict[str, object] = {
        "variant": name, "mode": mode, "fusion": fusion,
        "input": (f"{model.config.img_size}px pair" if mode == "pair"
                  else f"{model.config.flow_input_size}px flow"),
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "gflops": count_flops(model) / 1e9,
    }
    no_sync = lambda: None  # noqa: E731
    x1 = make_inputs(model, 1, torch.device("cpu"))
    xb = make_inputs(model, args.batch, torch.device("cpu"))
    row["cpu_b1_ms"] = median_ms(lambda: model(*x1), args.repeats, 5, no_sync)
    row["cpu_batch_ms"] = median_ms(lambda: model(*xb), max(5, args.repeats // 5), 2, no_sync)
    row["cpu_per_s"] = args.batch / (row["cpu_batch_ms"] / 1000.0)
    if cuda:
        dev = torch.device("cuda")
        model = model.to(dev)
        sync = torch.cuda.synchronize
        x1 = make_inputs(model, 1, dev)
        xg = make_inputs(model, args.gpu_batch, dev)

        def amp():
            return torch.autocast("cuda", dtype=torch.float16)

        row["gpu_fp32_b1_ms"] = median_ms(lambda: model(*x1), args.repeats * 4, 20, sync)

        def amp_call(x: tuple[torch.Tensor, ...]) -> Callable[[], object]:
            def call() -> object:
                with amp():
                    return model(*x)
            return call

        row["gpu_amp_b1_ms"] = median_ms(amp_call(x1), args.repeats * 4, 20, sync)
        batch_ms = median_ms(amp_call(xg), args.repeats, 5, sync)
        row["gpu_amp_per_s"] = args.gpu_batch / (batch_ms / 1000.0)
    return row


def format_row(row: dict[str, object], cuda: bool, batch: int) -> str:
    unit = "pairs/s" if row["mode"] == "pair" else "flows/s"
    text = (f"{row['variant']:<14} {row['mode']:<5} {row['fusion']:<17} {row['input']:<11} "
            f"{row['params_M']:6.3f} M  {row['gflops']:6.3f} GFLOPs  "
            f"CPU b1 {row['cpu_b1_ms']:7.2f} ms  b{batch} {row['cpu_batch_ms']:8.1f} ms "
            f"({row['cpu_per_s']:7.0f} {unit})")
    if cuda:
        text += (f"  | GPU fp32 b1 {row['gpu_fp32_b1_ms']:6.2f} ms  AMP b1 {row['gpu_amp_b1_ms']:6.2f} ms  "
                 f"AMP batched {row['gpu_amp_per_s']:9.0f} {unit}")
    return text


def run(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda was asked for but torch sees no CUDA GPU on this machine", file=sys.stderr)
        return 2
    if args.repeats < 1 or args.batch < 1 or args.gpu_batch < 1:
        print("error: --repeats, --batch and --gpu-batch must be at least 1", file=sys.stderr)
        return 2
    if args.img_size is not None and args.img_size < 32:
        print("error: --img-size must be at least 32", file=sys.stderr)
        return 2
    threads_before = torch.get_num_threads()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        report(args)
    finally:
        torch.set_num_threads(threads_before)
    return 0


def report(args: argparse.Namespace) -> None:
    cuda = args.device != "cpu" and torch.cuda.is_available()
    print(f"torch {torch.__version__}, CPU: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} CPU thread(s)"
          + (f", GPU: {torch.cuda.get_device_name(0)}" if cuda else ", no CUDA GPU"))
    print(f"CPU latency: median of {args.repeats} batch-1 calls; batch {args.batch} throughput; "
          "FLOPs: forward, one sample")
    rows = []
    for name in args.variants:
        for mode in args.modes:
            for fusion in args.fusions:
                row = measure(name, mode, fusion, args, cuda)
                rows.append(row)
                print(format_row(row, cuda, args.batch), flush=True)
    by_key = {(r["variant"], r["mode"], r["fusion"]): r for r in rows}
    for name in args.variants:
        for mode in args.modes:
            a, b = by_key.get((name, mode, "fu_b_attn")), by_key.get((name, mode, "concat_after_attn"))
            if a and b:
                print(f"{name} {mode}: Fu-B-Attn vs concat-after-attention: CPU b1 latency "
                      f"{a['cpu_b1_ms'] / b['cpu_b1_ms']:.3f}x, b{args.batch} latency "
                      f"{a['cpu_batch_ms'] / b['cpu_batch_ms']:.3f}x, FLOPs {a['gflops'] / b['gflops']:.3f}x, "
                      f"parameters {a['params_M'] / b['params_M']:.3f}x")
