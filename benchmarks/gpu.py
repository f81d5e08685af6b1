"""GPU benchmark (needs a CUDA GPU; run by scripts/gpu_check.py, not by `make bench`):
MobileNetV2 and ResNet-18 at 224x224 through the TensorRT backend at batch 1/8/32
(FP32, FP16, INT8 from n2d2c's scales), outputs against onnxruntime (FP32) and the
integer simulator (INT8), and the cupy simulator against the CPU one.

``run(work)`` returns the markdown section; ``work`` is a scratch folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import n2d2c
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.quantization import quantize_graph
from n2d2c.runtime import Simulator

REPO = Path(__file__).resolve().parents[1]
TENSORRT_HEADERS = REPO.parent / "shared" / "third_party" / "tensorrt-11.1" / "include"
# Each (precision, batch) is one engine build (tens of seconds): INT8 at one batch.
BATCHES = {-32: (1, 8, 32), -16: (1, 8, 32), 8: (8,)}
RUNS = 30


def models(only: str | None = None):
    table = {"MobileNetV2 224": lambda: zoo.mobilenet_v2(size=224, seed=0),
             "ResNet-18 224": lambda: zoo.resnet18(size=224, seed=0)}
    return {name: make() for name, make in table.items()
            if only is None or only.lower() in name.lower()}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def tensorrt_library() -> Path | None:
    """libnvinfer: $TENSORRT_ROOT/lib, the pip wheel (tensorrt_libs), or the system."""
    roots = [Path(os.environ["TENSORRT_ROOT"]) / "lib"] if os.environ.get("TENSORRT_ROOT") else []
    for package in ("tensorrt_libs", "tensorrt"):
        found = _package_dir(package)
        if found:
            roots.append(found)
    roots += [Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/local/tensorrt/lib")]
    for root in roots:
        for lib in sorted(root.glob("libnvinfer.so*")):
            return lib
    return None


def cuda_dirs() -> tuple[list[Path], list[Path]]:
    """(include dirs, library dirs) of the pip CUDA packages."""
    nvidia = _package_dir("nvidia")
    includes, libs = [], []
    for package in ("cuda_runtime", "cuda_nvcc", "cuda_nvrtc"):
        if nvidia and (nvidia / package / "include").is_dir():
            includes.append(nvidia / package / "include")
        if nvidia and (nvidia / package / "lib").is_dir():
            libs.append(nvidia / package / "lib")
    return includes, libs


def build(project: Path, nvinfer: Path) -> Path:
    """build/libn2d2c_trt.so of a generated project, with g++ directly (the project's
    CMakeLists needs a CUDA toolkit install, which pip machines lack)."""
    includes, libs = cuda_dirs()
    out = project / "build"
    out.mkdir(exist_ok=True)
    flags = ["-std=c++17", "-O2", "-fPIC", f"-I{project / 'include'}", f"-I{TENSORRT_HEADERS}",
             "-Wno-deprecated-declarations", *(f"-I{d}" for d in includes)]
    link = [f"-L{nvinfer.parent}", f"-l:{nvinfer.name}", "-l:libcuda.so.1",
            *(f"-L{d}" for d in libs), "-l:libcudart.so.12", "-l:libnvrtc.so.12",
            *(f"-Wl,-rpath,{d}" for d in (nvinfer.parent, *libs))]
    sources = sorted(str(p) for p in (project / "src").glob("*.cpp") if p.name != "main.cpp")
    library = out / "libn2d2c_trt.so"
    subprocess.run(["g++", "-shared", *flags, *sources, "-o", str(library), *link], check=True)
    subprocess.run(["g++", *flags, str(project / "src" / "main.cpp"), "-o",
                    str(out / "n2d2c_trt_test"), f"-L{out}", "-ln2d2c_trt",
                    f"-Wl,-rpath,{out}", *link], check=True)
    return library


def wrapper(project: Path):
    spec = importlib.util.spec_from_file_location("n2d2c_tensorrt",
                                                  project / "python" / "n2d2c_tensorrt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ort_latency(model, x, providers) -> float | None:
    import onnxruntime as ort
    if not set(providers) <= set(ort.get_available_providers()):
        return None
    session = ort.InferenceSession(model.SerializeToString(), providers=providers)
    feeds = {session.get_inputs()[0].name: x}
    for _ in range(3):
        session.run(None, feeds)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def onnx_batched(model, batch: int):
    """The model with a symbolic batch, for onnxruntime at any batch."""
    import onnx
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    del model.graph.value_info[:]
    return model


def run(work: Path, only: str | None = None) -> str:
    import onnxruntime as ort
    nvinfer = tensorrt_library()
    lines = ["## GPU: TensorRT backend and cupy simulator", "",
             f"Machine: {gpu_name()}; TensorRT library: {nvinfer or 'not found'}; "
             f"onnxruntime providers: {', '.join(ort.get_available_providers())}", "",
             "| network | precision | batch | TensorRT ms/batch | samples/s | ORT CUDA ms | "
             "ORT TensorRT ms | max abs diff (vs) |", "|---|---|---:|---:|---:|---:|---:|---|"]
    rng = np.random.default_rng(0)
    # Few samples, max clipping: the scales only need to be plausible, and calibration
    # runs on the CPU simulator (minutes for MSE histograms at 224x224).
    calib = rng.standard_normal((4, 3, 224, 224)).astype(np.float32)
    for name, model in models(only).items():
        project = work / name.split()[0]
        qgraph, _ = quantize_graph(load_onnx(model), calib,
                                   {"nbbits": 8, "act-clipping-mode": "None"})
        n2d2c.compile(load_onnx(model), project, backend="tensorrt", stimuli=0,
                      quantize=lambda graph: (qgraph, None))
        if nvinfer is None:
            lines.append(f"| {name} | - | - | TensorRT not installed | | | | |")
            continue
        build(project, nvinfer)
        trt = wrapper(project)
        for precision, batches in BATCHES.items():
            for batch in batches:
                x = rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)
                net = trt.Network(project, batch=batch, precision=precision)
                y = net.run({"input": x})["output"]
                times = []
                for _ in range(RUNS):
                    net.run({"input": x})
                    times.append(net.last_milliseconds)
                net.close()
                ms = float(np.median(times))
                batched = onnx_batched(model, batch)
                ref = ort.InferenceSession(batched.SerializeToString(),
                                           providers=["CPUExecutionProvider"]).run(
                                               None, {"input": x})[0]
                against = "onnxruntime"
                if precision == 8:
                    sim = Simulator(qgraph)
                    ref = np.concatenate([sim.run({"input": x[i:i + 1]})["output"]
                                          for i in range(min(batch, 4))])
                    y, against = y[:len(ref)], "integer simulator"
                diff = float(np.abs(y.astype(np.float64) - ref).max())
                cuda = ort_latency(batched, x, ["CUDAExecutionProvider"]) if precision == -32 else None
                trt_ep = ort_latency(batched, x, ["TensorrtExecutionProvider"]) \
                    if precision == -32 else None
                lines.append(f"| {name} | {precision} | {batch} | {ms:.3f} | "
                             f"{1000 * batch / ms:.0f} | {_ms(cuda)} | {_ms(trt_ep)} | "
                             f"{diff:.2e} ({against}) |")
                print(lines[-1], flush=True)
    lines += ["", cupy_section(), ""]
    return "\n".join(lines)


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def gpu_name() -> str:
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True)
        return out.stdout.strip() or "unknown GPU"
    return "no nvidia-smi"


def cupy_section() -> str:
    """The cupy simulator on MobileNetV2 at batch 8 against the CPU simulator."""
    from n2d2c.errors import UnsupportedError
    from n2d2c.passes import Pipeline
    from n2d2c.runtime.simulator import _open_device
    try:
        _open_device("gpu")
    except UnsupportedError as exc:
        return f"cupy simulator: not run ({exc.message})"
    graph = load_onnx(zoo.mobilenet_v2(size=224, seed=0))
    Pipeline.parse("set-batch{size=8}").run(graph)
    x = np.random.default_rng(1).standard_normal((8, 3, 224, 224)).astype(np.float32)
    cpu = Simulator(graph)
    start = time.perf_counter()
    want = cpu.run({"input": x})["output"]
    cpu_s = time.perf_counter() - start
    gpu = Simulator(graph, device="gpu")
    gpu.run({"input": x})
    start = time.perf_counter()
    got = gpu.run({"input": x})["output"]
    gpu_s = time.perf_counter() - start
    return (f"cupy simulator, MobileNetV2 224 batch 8: {gpu_s * 1000:.1f} ms (CPU simulator "
            f"{cpu_s * 1000:.0f} ms), max abs diff {np.abs(got - want).max():.2e}")


if __name__ == "__main__":
    print(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/n2d2c_gpu")))
