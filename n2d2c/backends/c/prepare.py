"""Per-kernel preparation for the generic C kernels: ``prepare_<kernel>(call, layer)``.

Each method turns one ``KernelCall`` of the lowered program (program.py; the
kernels are declared in kernels.py) into the name of the template that renders
it and that template's context: loop nests over the operands' strides, tables,
weights in the layout the template reads.  A target that wants another kernel
or weight layout overrides the method next to its own template (see
``backends/cpp/emitter.py``) and falls back to these for the rest.
"""

from __future__ import annotations

import numpy as np

from ...errors import InternalError
from .context import Ctx
from .formatting import Nest
from .program import KernelCall, Layer
from .views import View, loop_nest


class GenericKernels:
    """The generic kernels' preparation (mixed into ``CEmitter``)."""

    def _nest(self, shape, named_views: dict[str, View], order_by: str | None = None,
              var: str = "i", merge: bool = True) -> Nest:
        names = list(named_views)
        order = names.index(order_by) if order_by else 0
        loops = loop_nest(shape, [named_views[n].strides for n in names], order_by=order,
                          merge=merge)
        return Nest(loops, names, var)

    def prepare_copy(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        nest = self._nest(y.shape, {"y": y, "x": x})
        return "copy", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                           pragma=self.parallel_for(nest.total // 8))

    def prepare_map(self, call: KernelCall, layer: Layer):
        y = call.writes["y"]
        views = {"y": y, **call.reads}
        nest = self._nest(y.shape, views)
        args = [f"{n}[{nest.index(n)}]" for n in call.reads]
        params = dict(call.params, out_dtype=y.storage.dtype,
                      in_dtypes=tuple(v.storage.dtype for v in call.reads.values()))
        expr = self.act(call.params.get("act"), self.scalar_fn(call.params["fn"], args, params),
                        y.storage.dtype)
        operands = [self.operand(n, v) for n, v in call.reads.items()]
        return "map", Ctx(y=self.operand("y", y), inputs=operands, nest=nest, expr=expr,
                          pragma=self.parallel_for(nest.total // 4))

    def _all_but_axis(self, x, y, axis: int):
        """The loop nest over every axis of ``x`` but ``axis`` (which the kernel scans
        itself), indexing ``x`` and ``y`` alike."""
        outer = [d for d in range(x.rank) if d != axis]
        return self._nest([x.shape[d] for d in outer], {"y": _pick(y, outer), "x": _pick(x, outer)})

    def prepare_softmax(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        axis = call.params["axis"]
        nest = self._all_but_axis(x, y, axis)
        return "softmax", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                              n=x.shape[axis] if x.rank else 1,
                              sx=x.strides[axis] if x.rank else 0,
                              sy=y.strides[axis] if y.rank else 0,
                              log=call.params["log"],
                              pragma=self.parallel_for(x.size * 8))

    def prepare_int_softmax(self, call: KernelCall, layer: Layer):
        """IntSoftmax: one scan of the axis per row for the max, one for the sum, one for
        the results (kernels.py); ``levels`` 0 writes float32."""
        x, table, y = call.reads["x"], call.reads["table"], call.writes["y"]
        axis = call.params["axis"]
        nest = self._all_but_axis(x, y, axis)
        return "int_softmax", Ctx(x=self.operand("x", x), table=self.operand("table", table),
                                  y=self.operand("y", y), nest=nest, n=x.shape[axis],
                                  sx=x.strides[axis], sy=y.strides[axis],
                                  levels=call.params["levels"],
                                  pragma=self.parallel_for(x.size * 4))

    def prepare_reduce(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        axes = call.params["axes"]
        fn = call.params["fn"]
        kept = [d for d in range(x.rank) if d not in axes]
        y_strides = []
        for d in range(x.rank):
            if d in axes:
                y_strides.append(0)
            else:
                yd = d if call.params["keepdims"] else kept.index(d)
                y_strides.append(y.strides[yd])
        y_over_x = View(y.storage, y.offset, x.shape, tuple(y_strides))
        count = 1
        for d in axes:
            count *= x.shape[d]
        k = Ctx(x=self.operand("x", x), y=self.operand("y", y), fn=fn, count=count,
                yt=self.ctype(y.storage.dtype), integer=y.storage.dtype != "float32")
        if k.integer:
            # One exact int64 accumulator per output (ir/ops/quant.py).
            k.outer = self._nest([x.shape[d] for d in kept],
                                 {"y": _pick(y_over_x, kept), "x": _pick(x, kept)}, var="j")
            k.inner = self._nest([x.shape[d] for d in axes], {"x": _pick(x, axes)})
            info = np.iinfo(np.dtype(y.storage.dtype))
            k.init = self.int_literal(info.min, "int64") if fn == "max" else "0"
        else:
            # y is the accumulator, updated in x's memory order (spelling.j2's reduce_*
            # macros: initial value, step, finishing function).
            k.init_nest = self._nest(y.shape, {"y": y}, var="j")
            k.acc = self._nest(x.shape, {"x": x, "y": y_over_x})
            k.init = self.spell("reduce_init", fn)
            k.step = self.spell("reduce_step", fn, f"y[{k.acc.index('y')}]",
                                f"x[{k.acc.index('x')}]")
            k.finish = self.spell("reduce_finish", fn, f"y[{k.init_nest.index('y')}]",
                                  self.f(count))
        return "reduce", k

    def prepare_gather(self, call: KernelCall, layer: Layer):
        """Pad and nearest Resize: per-axis tables of source offsets (-1: the pad value)."""
        x, y = call.reads["x"], call.writes["y"]
        dims, tables, conds, xi = [], [], [], []
        for d in sorted(range(y.rank), key=lambda d: -y.strides[d]):
            m = np.asarray(call.params["maps"][d], np.int64)
            v = f"i{d}"
            dims.append(Ctx(var=v, extent=int(m.size)))
            if not (m < 0).any() and m.size == x.shape[d] and (m == np.arange(m.size)).all():
                if x.strides[d]:
                    xi.append(f"{v} * {x.strides[d]}" if x.strides[d] != 1 else v)
                continue
            table = self.symbol(f"map{d}")
            tables.append(self.int_table(table, np.where(m < 0, -1, m * x.strides[d])))
            xi.append(f"{table}[{v}]")
            if (m < 0).any():
                conds.append(f"{table}[{v}] < 0")
        yi = " + ".join(f"i{d} * {y.strides[d]}" if y.strides[d] != 1 else f"i{d}"
                        for d in range(y.rank) if y.strides[d]) or "0"
        if y.storage.dtype == "float32":
            value = self.f(call.params["value"])
        else:   # an integer pad value, saturated to the element type
            info = np.iinfo(np.dtype(y.storage.dtype))
            value = self.int_literal(min(max(int(round(call.params["value"])), info.min),
                                         info.max), y.storage.dtype)
        rhs = f"x[{' + '.join(xi) or '0'}]"
        if conds:
            rhs = f"({' || '.join(conds)}) ? {value} : {rhs}"
        return "gather", Ctx(x=self.operand("x", x), y=self.operand("y", y), dims=dims,
                             tables=tables, yi=yi, rhs=rhs, pragma=self.parallel_for(y.size // 4))

    def prepare_take(self, call: KernelCall, layer: Layer):
        """Gather, GatherElements, Trilu: one index read per output element (kernels.py)."""
        x, ind, y = call.reads["x"], call.reads["ind"], call.writes["y"]
        nest = self._nest(y.shape, {"y": y, "x": _pick(x, range(y.rank)), "ind": ind})
        zero = self.f(0.0) if y.storage.dtype == "float32" else "0"
        return "take", Ctx(x=self.operand("x", x), ind=self.operand("ind", ind),
                           y=self.operand("y", y), nest=nest, n=x.shape[-1], s=x.strides[-1],
                           zero=zero, pragma=self.parallel_for(nest.total // 4))

    def prepare_lut(self, call: KernelCall, layer: Layer):
        """Lookup: one table read per element, indexed by the 8-bit x (kernels.py)."""
        x, table, y = call.reads["x"], call.reads["table"], call.writes["y"]
        nest = self._nest(y.shape, {"y": y, "x": x})
        return "lut", Ctx(x=self.operand("x", x), table=self.operand("table", table),
                          y=self.operand("y", y), nest=nest, offset=call.params["offset"],
                          pragma=self.parallel_for(nest.total // 4))

    def prepare_arg_reduce(self, call: KernelCall, layer: Layer):
        """ArgMax/ArgMin: one scan of the axis per output element (kernels.py)."""
        x, y = call.reads["x"], call.writes["y"]
        axis = call.params["axis"]
        nest = self._all_but_axis(x, y, axis)
        # A strict comparison keeps the first of equal values, a loose one the last.
        cmp = (">" if call.params["largest"] else "<") + ("=" if call.params["last"] else "")
        return "arg_reduce", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                                 n=x.shape[axis], sx=x.strides[axis], cmp=cmp,
                                 pragma=self.parallel_for(x.size // 4))

    def prepare_resize_linear(self, call: KernelCall, layer: Layer):
        """(Multi)linear Resize: per resized axis two source offsets and two weights."""
        x, y = call.reads["x"], call.writes["y"]
        dims, tables, lerps, plain = [], [], [], []
        for d in sorted(range(y.rank), key=lambda d: -y.strides[d]):
            v = f"i{d}"
            dims.append(Ctx(var=v, extent=y.shape[d]))
            coeffs = call.params["axes"][d]
            if coeffs is None:
                if x.strides[d]:
                    plain.append(f"{v} * {x.strides[d]}")
                continue
            i0, i1, w0, w1 = coeffs
            names = [self.symbol(f"{kind}_{d}") for kind in ("i0", "i1", "w0", "w1")]
            # Integer weights (an integer resize, exact in int) or float ones.
            weights = self.int_table if np.asarray(w0).dtype.kind == "i" else self.float_table
            tables += [self.int_table(names[0], i0 * x.strides[d]),
                       self.int_table(names[1], i1 * x.strides[d]),
                       weights(names[2], w0), weights(names[3], w1)]
            lerps.append((v, names))
        yi = " + ".join(f"i{d} * {y.strides[d]}" for d in range(y.rank) if y.strides[d]) or "0"

        def expr(level: int, base: str) -> str:
            if level == len(lerps):
                return f"x[{base}]"
            v, (i0, i1, w0, w1) = lerps[level]
            return (f"{w0}[{v}] * ({expr(level + 1, f'{base} + {i0}[{v}]')}) + "
                    f"{w1}[{v}] * ({expr(level + 1, f'{base} + {i1}[{v}]')})")

        return "resize_linear", Ctx(x=self.operand("x", x), y=self.operand("y", y), dims=dims,
                                    tables=tables, yi=yi,
                                    expr=expr(0, " + ".join(plain) or "0"),
                                    pragma=self.parallel_for(y.size))

    def prepare_lrn(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        rest = [0] + list(range(2, x.rank))
        nest = self._nest([x.shape[d] for d in rest], {"y": _pick(y, rest), "x": _pick(x, rest)})
        size = call.params["size"]
        return "lrn", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                          c=x.shape[1], sx=x.strides[1], sy=y.strides[1],
                          before=(size - 1) // 2, after=size - 1 - (size - 1) // 2,
                          alpha_over_size=self.f(call.params["alpha"] / size),
                          beta=self.f(-call.params["beta"]), bias=self.f(call.params["bias"]),
                          pragma=self.parallel_for(x.size * size))

    def prepare_gemm(self, call: KernelCall, layer: Layer):
        a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
        c = call.reads.get("c")
        m, k = a.shape[-2:]
        n = b.shape[-1]
        batch = y.shape[:-2]
        views = {"y": y, "a": a, "b": b}
        if c is not None:
            views["c"] = c
        cut = len(batch)
        bnest = self._nest(batch, {name: _pick(v, range(cut)) for name, v in views.items()},
                           var="t")
        ctx = Ctx(a=self.operand("a", a), b=self.operand("b", b), y=self.operand("y", y),
                  c=self.operand("c", c) if c is not None else None, batch=bnest,
                  m=m, n=n, k=k, sam=a.strides[-2], sak=a.strides[-1],
                  sbk=b.strides[-2], sbn=b.strides[-1], sym=y.strides[-2], syn=y.strides[-1],
                  scm=c.strides[-2] if c is not None else 0,
                  scn=c.strides[-1] if c is not None else 0,
                  alpha=call.params["alpha"], beta=call.params["beta"],
                  act=call.params.get("act"),
                  at=self.ctype(a.storage.dtype), bt=self.ctype(b.storage.dtype),
                  acct=self.ctype(call.params.get("acc_dtype", y.storage.dtype)),
                  yt=self.ctype(y.storage.dtype), ydtype=y.storage.dtype,
                  integer=y.storage.dtype != "float32",
                  pragma=self.parallel_for(m * n * k, 1))
        self._requant_epilogue(ctx, call, layer, channels=n)
        return "gemm", ctx

    def _conv_common(self, call: KernelCall, transpose: bool) -> Ctx:
        x, y = call.reads["x"], call.writes["y"]
        p = call.params
        n, c, h, w = x.shape
        _, m, oh, ow = y.shape
        kh, kw = p["kernel"]
        group = p["group"]
        wdtype = (p["weights"].dtype.name if p.get("weights") is not None
                  else call.reads["w"].storage.dtype)
        acc_dtype = p.get("acc_dtype", y.storage.dtype)
        return Ctx(x=self.operand("x", x), y=self.operand("y", y), n=n, c=c, height=h, width=w, m=m,
                   xt=self.ctype(x.storage.dtype), wt=self.ctype(wdtype),
                   acct=self.ctype(acc_dtype),
                   yt=self.ctype(y.storage.dtype), ydtype=y.storage.dtype,
                   integer=y.storage.dtype != "float32",
                   oh=oh, ow=ow, kh=kh, kw=kw, sh=p["strides"][0], sw=p["strides"][1],
                   pt=p["pads"][0], pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
                   group=group, cg=c // group, mg=m // group,
                   xn=x.strides[0], xh=x.strides[2], xw=x.strides[3],
                   yn=y.strides[0], yh=y.strides[2], yw=y.strides[3], act=p.get("act"))

    def _bias(self, call: KernelCall, layer: Layer) -> str | None:
        if call.params.get("bias") is not None:
            return self.add_const(f"b_{layer.name}", call.params["bias"], "bias")
        if "b" in call.reads:
            return self.pointer(call.reads["b"])
        return None

    def prepare_conv2d(self, call: KernelCall, layer: Layer):
        k = self._conv_common(call, False)
        wts = call.params.get("weights")
        if wts is not None:
            # OHWI: the reduction over input channels reads weights and NHWC input contiguously.
            k.w = self.add_const(f"w_{layer.name}", wts.transpose(0, 2, 3, 1),
                                 f"weights of {layer.name}, OHWI")
            k.wm, k.wh, k.ww, k.wc = k.kh * k.kw * k.cg, k.kw * k.cg, k.cg, 1
        else:
            wv = call.reads["w"]
            k.w = self.pointer(wv)
            k.wm, k.wc, k.wh, k.ww = wv.strides
        k.b = self._bias(call, layer)
        self._requant_epilogue(k, call, layer)
        k.pragma = self.parallel_for(k.oh * k.ow * k.m * k.cg * k.kh * k.kw)
        return "conv2d", k

    def _requant_epilogue(self, k: Ctx, call: KernelCall, layer: Layer,
                          channels: int | None = None) -> None:
        """``k.requantize``: the function a convolution or dense layer applies to each
        accumulator before storing it when the lowering fused the following rescale into it
        (else None)."""
        op = call.params.get("rescale")
        k.requantize = k.requant_decl = None
        if op is not None:
            k.requantize, k.requant_decl = self.requantizer(
                layer, op, k.m if channels is None else channels, k.ydtype)

    def prepare_conv_transpose2d(self, call: KernelCall, layer: Layer):
        k = self._conv_common(call, True)
        wts = call.params.get("weights")
        if wts is not None:
            # [C, M/g, kh, kw] -> [M][kh][kw][C/g]: per output channel, contiguous input channels.
            g, cg, mg = k.group, k.cg, k.mg
            arr = wts.reshape(g, cg, mg, k.kh, k.kw).transpose(0, 2, 3, 4, 1)
            k.w = self.add_const(f"w_{layer.name}", arr, f"weights of {layer.name}, O HWI per group")
            k.wm = k.kh * k.kw * cg
            k.wg = mg * k.kh * k.kw
            k.wh, k.ww, k.wc = k.kw * cg, cg, 1
        else:
            wv = call.reads["w"]
            k.w = self.pointer(wv)
            k.wg, k.wm, k.wh, k.ww = wv.strides
            k.wc = wv.strides[0]
        k.b = self._bias(call, layer)
        k.pragma = self.parallel_for(k.height * k.width * k.m * k.cg * k.kh * k.kw)
        return "conv_transpose2d", k

    def prepare_pool2d(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        p = call.params
        n, c, h, w = x.shape
        oh, ow = y.shape[2:]
        ranges = [pool_taps(size, out, p["kernel"][a], p["strides"][a], p["pads"][a],
                            p["pads"][a + 2], p["dilations"][a], p["count_include_pad"])
                  for a, (size, out) in enumerate(((h, oh), (w, ow)))]
        k = Ctx(x=self.operand("x", x), y=self.operand("y", y), kind=p["kind"], n=n, c=c,
                oh=oh, ow=ow, sh=p["strides"][0], sw=p["strides"][1], pt=p["pads"][0],
                pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
                xn=x.strides[0], xh=x.strides[2], xw=x.strides[3],
                yn=y.strides[0], yh=y.strides[2], yw=y.strides[3],
                h_lo=ranges[0][0], h_hi=ranges[0][1], h_cnt=ranges[0][2],
                w_lo=ranges[1][0], w_hi=ranges[1][1], w_cnt=ranges[1][2],
                tables=self.symbol(f"{layer.name}_taps"),
                yt=self.ctype(y.storage.dtype), integer=y.storage.dtype != "float32",
                pragma=self.parallel_for(y.size * p["kernel"][0] * p["kernel"][1]))
        if k.integer:
            info = np.iinfo(np.dtype(y.storage.dtype))
            k.init = self.int_literal(info.min, "int64") if k.kind == "max" else "0"
        else:
            k.init = "(-INFINITY)" if k.kind == "max" else "0.0f"
        return "pool2d", k

    def prepare_max_pool_indices(self, call: KernelCall, layer: Layer):
        x, y, ind = call.reads["x"], call.writes["y"], call.writes["ind"]
        p = call.params
        n, c, h, w = x.shape
        return "max_pool_indices", Ctx(
            x=self.operand("x", x), y=self.operand("y", y), ind=self.operand("ind", ind),
            n=n, c=c, height=h, width=w, oh=y.shape[2], ow=y.shape[3],
            kh=p["kernel"][0], kw=p["kernel"][1], sh=p["strides"][0], sw=p["strides"][1],
            pt=p["pads"][0], pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
            column_major=p["column_major"], xt=self.ctype(x.storage.dtype),
            xn=x.strides[0], xc=x.strides[1], xh=x.strides[2], xw=x.strides[3],
            yn=y.strides[0], yc=y.strides[1], yh=y.strides[2], yw=y.strides[3],
            in_n=ind.strides[0], in_c=ind.strides[1], in_h=ind.strides[2], in_w=ind.strides[3],
            pragma=self.parallel_for(y.size * p["kernel"][0] * p["kernel"][1]))

    def prepare_max_unpool(self, call: KernelCall, layer: Layer):
        x, ind, y = call.reads["x"], call.reads["ind"], call.writes["y"]
        n, c, oh, ow = y.shape
        # Scatter in the input's logical (row-major NCHW) order, whatever its layout: with
        # repeated indices that order decides which value stays.
        logical = View.dense(x.storage, x.shape)
        walk = self._nest(x.shape, {"pos": logical, "x": x, "ind": ind}, merge=False)
        return "max_unpool", Ctx(
            x=self.operand("x", x), ind=self.operand("ind", ind), y=self.operand("y", y),
            zero=self._nest(y.shape, {"y": y}), walk=walk, total=y.size, c=c, oh=oh, ow=ow,
            yn=y.strides[0], yc=y.strides[1], yh=y.strides[2], yw=y.strides[3],
            accumulate=call.params["accumulate"], pragma=self.parallel_for(y.size // 8))

    def prepare_rescale(self, call: KernelCall, layer: Layer):
        """Requantization, per tensor or per channel along ``axis`` (ir/ops/quant.py)."""
        x, y = call.reads["x"], call.writes["y"]
        op, axis = call.params["op"], call.params["axis"]
        channels = x.shape[axis] if x.rank else 1
        fn, decl = self.requantizer(layer, op, channels, y.storage.dtype)
        varying = op.varying()
        # Per-channel parameters need the channel index: keep the axis as its own loop.
        nest = self._nest(y.shape, {"y": y, "x": x}, merge=not varying)
        cvar = "0"
        if varying and x.rank:
            level = next((i for i, lp in enumerate(nest.loops)
                          if lp.extent == channels and lp.strides == (y.strides[axis],
                                                                      x.strides[axis])), None)
            if level is None:
                raise InternalError(f"{layer.name}: no loop walks the channel axis {axis}")
            cvar = f"{nest.var}{level}"
        return "rescale", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                              requantize=fn, requant_decl=decl, cvar=cvar,
                              pragma=self.parallel_for(y.size // 2))


def _pick(view: View, dims) -> View:
    dims = list(dims)
    return View(view.storage, view.offset, tuple(view.shape[d] for d in dims),
                tuple(view.strides[d] for d in dims))


def pool_taps(size: int, out: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
              dilation: int, count_include_pad: bool):
    """Per output index: first and end kernel tap inside the input, and the average's divisor."""
    lo, hi, count = [], [], []
    for o in range(out):
        start = o * stride - pad_begin
        valid = [t for t in range(kernel) if 0 <= start + t * dilation < size]
        lo.append(valid[0] if valid else 0)
        hi.append(valid[-1] + 1 if valid else 0)
        if count_include_pad:
            # Padded cells count, the part of a ceil-mode window past the padding does not.
            count.append(sum(1 for t in range(kernel)
                             if -pad_begin <= start + t * dilation < size + pad_end))
        else:
            count.append(len(valid))
    return lo, hi, [max(v, 1) for v in count]
