"""Which TorchScript files Glasswing runs without ``trusted=True``: tensor math only, proved before loading.

TorchScript is code. ``torch.jit.load`` compiles the archive's ``code/`` sources and runs scripted
``__setstate__`` methods while it loads, and any method may call operators such as ``aten::from_file``
(maps, creates and overwrites files) or ``aten::save``. So a file is checked twice:

1. **Before loading**, every source file under ``code/`` is parsed (Python syntax, never run) and every
   name it can call is checked: ``torch.X`` / ``ops.NS.X`` / ``math.X`` must be an operator in
   :data:`ALLOWED_OPS`; calls on values (``(self.conv).forward(x)``) must name a method defined in the
   archive (and not shadow a refused operator) or an allowed operator; bare calls must be harmless
   builtins (:data:`ALLOWED_BUILTINS`) or local variables; ``__torch__.*`` must be code in the archive
   (so no TorchBind classes). Imports, ``with`` blocks, closures and ``getattr`` on ``torch`` are
   refused. Because every function the archive defines is checked, whatever runs at load time
   (``__setstate__``, constant folding) can only be allowed operators.
2. **After loading, before any forward pass**, the inlined graph of every method of the module and of
   every submodule is walked, blocks of ``if`` and loops included: every node must be one of
   :data:`ALLOWED_OPS`, so calls that inlining could not resolve (``prim::CallMethod`` on an interface,
   ``prim::CallFunction`` of an unknown function), Python operators and RPC are refused.

:data:`ALLOWED_OPS` is tensor math: what torchvision's classifiers (scripted and traced) and Glasswing's
sample CNN use, plus common layers, activations, reductions, shape and list operators. Nothing in it
touches files, the network, the process (seeds, threads) or Python objects. What it cannot bound is how
much memory the model's own arithmetic allocates, as for any model format.
"""

from __future__ import annotations

import ast
import io
import zipfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from glasswing.ingest._errors import TORCHSCRIPT_REFUSED, UntrustedFileError, listing

_STRUCTURE = """
prim::Constant prim::GetAttr prim::SetAttr prim::If prim::Loop prim::ListConstruct prim::ListUnpack
prim::TupleConstruct prim::TupleUnpack prim::TupleIndex prim::TupleSlice prim::DictConstruct
prim::CreateObject prim::NumToTensor prim::RaiseException prim::Uninitialized prim::unchecked_cast
prim::unchecked_unwrap_optional prim::device prim::dtype prim::layout prim::is_nested prim::requires_grad
prim::type prim::shape prim::data prim::isinstance prim::min prim::max prim::abs prim::BroadcastSizes
prim::ConstantChunk prim::AutogradZero prim::StringIndex prim::is_cuda prim::is_cpu prim::is_mps
prim::is_meta prim::is_quantized prim::is_sparse prim::is_xpu prim::name prim::grad prim::layout
prim::EnumName prim::EnumValue prim::tolist prim::IntImplicit prim::FloatImplicit prim::ComplexImplicit
"""
_SCALARS_AND_LISTS = """
aten::Int aten::Float aten::Bool aten::Complex aten::ScalarImplicit aten::IntImplicit aten::FloatImplicit
aten::str aten::format aten::len aten::append aten::extend aten::insert aten::pop aten::clear aten::copy
aten::list aten::reverse aten::sort aten::sorted aten::count aten::index aten::slice aten::__getitem__
aten::_set_item aten::__contains__ aten::__is__ aten::__isnot__ aten::__not__ aten::__and__ aten::__or__
aten::__xor__ aten::__lshift__ aten::__rshift__ aten::__interpolate aten::__range_length
aten::__derive_index aten::__round_to_zero_floordiv aten::keys aten::values aten::items aten::get
aten::setdefault aten::dict aten::join aten::split aten::strip aten::lower aten::upper aten::startswith
aten::endswith aten::replace aten::find aten::isdigit aten::splitlines aten::ord aten::chr
aten::eq aten::ne aten::lt aten::le aten::gt aten::ge aten::add aten::sub aten::mul aten::div
aten::floordiv aten::floor_divide aten::remainder aten::neg aten::pow aten::abs aten::sqrt aten::exp
aten::log aten::log2 aten::log10 aten::log1p aten::ceil aten::floor aten::round aten::trunc aten::sin
aten::cos aten::tan aten::tanh aten::atan aten::atan2 aten::erf aten::isnan aten::isinf aten::isfinite
aten::min aten::max aten::sum aten::any aten::all aten::divmod aten::fmod aten::mathremainder
aten::rsub aten::gcd aten::factorial aten::degrees aten::radians aten::copysign aten::warn
aten::dim aten::size aten::numel aten::item aten::tolist aten::is_floating_point aten::is_complex
aten::is_grad_enabled aten::is_autocast_enabled aten::is_autocast_cpu_enabled aten::device aten::dtype
aten::element_size aten::is_contiguous aten::requires_grad_ aten::stride aten::sym_size aten::sym_numel
"""
_TENSOR_MATH = """
aten::tensor aten::scalar_tensor aten::as_tensor aten::zeros aten::ones aten::empty aten::full
aten::zeros_like aten::ones_like aten::empty_like aten::full_like aten::new_zeros aten::new_ones
aten::new_empty aten::new_full aten::arange aten::linspace aten::eye aten::rand aten::randn
aten::rand_like aten::randn_like aten::bernoulli aten::bernoulli_ aten::to aten::type_as aten::cpu
aten::detach aten::clone aten::contiguous aten::copy_ aten::fill_ aten::zero_
aten::view aten::view_as aten::reshape aten::reshape_as aten::flatten aten::unflatten aten::squeeze
aten::unsqueeze aten::permute aten::transpose aten::t aten::expand aten::expand_as aten::repeat
aten::repeat_interleave aten::narrow aten::select aten::index_select aten::gather aten::scatter
aten::masked_fill aten::masked_fill_ aten::masked_select aten::where aten::cat aten::concat aten::stack
aten::chunk aten::unbind aten::split_with_sizes aten::tensor_split aten::flip aten::roll aten::pad
aten::constant_pad_nd aten::reflection_pad2d aten::replication_pad2d aten::tile aten::movedim
aten::add_ aten::sub_ aten::mul_ aten::div_ aten::neg_ aten::pow_ aten::addcmul aten::addcdiv aten::lerp
aten::matmul aten::mm aten::bmm aten::addmm aten::baddbmm aten::einsum aten::linear aten::bilinear
aten::dot aten::outer aten::clamp aten::clamp_ aten::clamp_min aten::clamp_min_ aten::clamp_max
aten::clamp_max_ aten::clip aten::sign aten::reciprocal aten::rsqrt aten::square aten::exp_ aten::sigmoid
aten::sigmoid_ aten::tanh_ aten::relu aten::relu_ aten::relu6 aten::leaky_relu aten::leaky_relu_
aten::elu aten::elu_ aten::selu aten::selu_ aten::celu aten::gelu aten::silu aten::silu_ aten::mish
aten::hardtanh aten::hardtanh_ aten::hardsigmoid aten::hardsigmoid_ aten::hardswish aten::hardswish_
aten::prelu aten::softplus aten::softsign aten::logsigmoid aten::threshold aten::threshold_ aten::glu
aten::softmax aten::log_softmax aten::_softmax aten::mean aten::std aten::var aten::var_mean
aten::std_mean aten::prod aten::cumsum aten::cumprod aten::logsumexp aten::norm aten::linalg_vector_norm
aten::frobenius_norm aten::amax aten::amin aten::argmax aten::argmin aten::topk aten::argsort
aten::maximum aten::minimum aten::conv1d aten::conv2d aten::conv3d aten::_convolution aten::convolution
aten::conv_transpose1d aten::conv_transpose2d aten::conv_transpose3d aten::batch_norm aten::instance_norm
aten::layer_norm aten::group_norm aten::local_response_norm aten::dropout aten::dropout_
aten::feature_dropout aten::alpha_dropout aten::feature_alpha_dropout aten::max_pool1d aten::max_pool2d
aten::max_pool3d aten::max_pool1d_with_indices aten::max_pool2d_with_indices aten::avg_pool1d
aten::avg_pool2d aten::avg_pool3d aten::adaptive_avg_pool1d aten::adaptive_avg_pool2d
aten::adaptive_avg_pool3d aten::adaptive_max_pool1d aten::adaptive_max_pool2d aten::upsample_nearest1d
aten::upsample_nearest2d aten::upsample_bilinear2d aten::upsample_bicubic2d aten::pixel_shuffle
aten::pixel_unshuffle aten::channel_shuffle aten::embedding aten::one_hot aten::scaled_dot_product_attention
aten::_native_multi_head_attention aten::logical_and aten::logical_or aten::logical_not aten::bitwise_not
aten::type aten::float aten::double aten::half aten::int aten::long aten::bool aten::cosine_similarity
aten::pairwise_distance aten::cdist aten::l1_loss aten::mse_loss aten::nll_loss aten::cross_entropy_loss
aten::binary_cross_entropy aten::binary_cross_entropy_with_logits aten::grid_sampler
aten::affine_grid_generator
aten::nan_to_num aten::isclose aten::allclose aten::equal aten::sort aten::lt_ aten::gt_ aten::eq_
aten::ne_ aten::exp2 aten::sinh aten::cosh aten::asin aten::acos aten::expm1 aten::frac
"""
#: Operators TorchScript code may run from an untrusted file (TorchScript's qualified names).
ALLOWED_OPS = frozenset((_STRUCTURE + _SCALARS_AND_LISTS + _TENSOR_MATH).split())
#: Builtins a bare call may name (each compiles to allowed operators or to nothing at run time).
ALLOWED_BUILTINS = frozenset("""
annotate unchecked_cast uninitialized isinstance getattr hasattr range enumerate zip len int float bool str
list tuple dict min max abs round sum any all divmod sorted ord chr
""".split())
#: Builtins refused even when shadowed by a local name.
DENIED_BUILTINS = frozenset("""
print fork wait id rpc_async rpc_sync rpc_remote open exec eval compile __import__ input breakpoint globals
locals vars setattr delattr super type object classmethod staticmethod property
""".split())
#: Name roots whose attributes are operators: ``torch.relu`` is ``aten::relu``.
_OPERATOR_ROOTS = ("torch", "ops", "math")
_MATH_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "tau"})
_REFUSED_SYNTAX = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda, ast.Yield, ast.YieldFrom,
                   ast.Await, ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.With)


# ============================================ before loading =========================================
def code_members(archive: zipfile.ZipFile) -> list[str]:
    """Return the TorchScript source files of an archive (``<archive>/code/**.py``)."""
    return [m for m in archive.namelist() if m.endswith(".py") and ("/code/" in m or m.startswith("code/"))]


def refused_calls(data: bytes) -> list[str]:
    """Return what the TorchScript archive's code calls beyond :data:`ALLOWED_OPS` (empty: safe to load).

    Parameters
    ----------
    data : bytes
        A TorchScript archive (as ``torch.jit.save`` writes it). Nothing in it is loaded or run.

    Returns
    -------
    list of str
        Readable names (``aten::from_file``, ``print``, ``import os``, ...), sorted, without repeats.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = code_members(archive)
        sources = {m: archive.read(m).decode("utf-8", errors="replace") for m in members}
    modules, methods, trees, refused = set(), set(), {}, set()
    for member, text in sources.items():
        path = member.split("code/", 1)[1][: -len(".py")]
        modules.add(path.replace("/", "."))
        try:
            trees[member] = ast.parse(text)
        except (SyntaxError, ValueError):
            refused.add(f"unparsable code in {member}")
            continue
        if "torch.classes" in text:
            refused.add("TorchBind classes (torch.classes)")
        for node in ast.walk(trees[member]):
            if isinstance(node, ast.ClassDef):
                methods.update(f.name for f in node.body if isinstance(f, ast.FunctionDef))
    for tree in trees.values():
        refused.update(_refused_in(tree, modules, methods))
    return sorted(refused)


def check_source(data: bytes, name: str) -> None:
    """Refuse a TorchScript archive whose code calls anything beyond tensor math, before it is loaded.

    Raises
    ------
    UntrustedFileError
        Naming the refused calls.
    """
    refused = refused_calls(data)
    if refused:
        raise UntrustedFileError(TORCHSCRIPT_REFUSED.format(name=name, calls=listing(refused, limit=8)))


@lru_cache(maxsize=1)
def _all_operators() -> frozenset[str]:
    import torch

    return frozenset(s.name for s in torch._C._jit_get_all_schemas())


def _operator(chain: list[str]) -> str | None:
    """Return the qualified operator a ``torch.``/``ops.``/``math.`` chain names, or None if it names none."""
    root = chain[0]
    if root == "ops" and len(chain) == 3:
        return f"{chain[1]}::{chain[2]}"
    if root == "torch" and len(chain) == 4 and chain[1] == "ops":
        return f"{chain[2]}::{chain[3]}"
    if root in ("torch", "math") and len(chain) == 2:
        return f"aten::{chain[1]}"
    return None


def _chain(node: ast.AST) -> list[str] | None:
    """Return ``a.b.c`` as ``["a", "b", "c"]`` when the attribute chain starts at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node inside a type annotation (never run, so not checked as calls)."""
    skip = set()
    for node in ast.walk(tree):
        roots: list[Any] = []
        if isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef) and node.returns is not None:
            roots.append(node.returns)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args
              and node.func.id in ("annotate", "unchecked_cast", "uninitialized", "isinstance")):
            roots.append(node.args[0] if node.func.id != "isinstance" else node.args[-1])
        for root in roots:
            skip.update(id(n) for n in ast.walk(root))
    return skip


def _locals(function: ast.FunctionDef) -> set[str]:
    names = {a.arg for a in function.args.args + function.args.kwonlyargs}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _refused_in(tree: ast.Module, modules: set[str], methods: set[str]) -> Iterator[str]:
    skip = _annotation_nodes(tree)
    top_functions = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, _REFUSED_SYNTAX):
            yield {ast.Import: "import", ast.ImportFrom: "import", ast.With: "with blocks",
                   ast.Lambda: "lambda"}.get(type(node), type(node).__name__.lower())
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        local = _locals(function)
        for node in ast.walk(function):
            if id(node) not in skip:
                yield from _refused_node(node, parents, local, modules, methods, top_functions)


def _refused_node(node: ast.AST, parents: dict, local: set[str], modules: set[str], methods: set[str],
                  top_functions: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Name) and node.id in (*_OPERATOR_ROOTS, "__torch__"):
        if not isinstance(parents.get(id(node)), ast.Attribute):
            yield f"{node.id} as a value"  # e.g. x = torch; x.from_file(...)
    elif isinstance(node, ast.Attribute) and not isinstance(parents.get(id(node)), ast.Attribute):
        chain = _chain(node)  # the whole chain, checked once at its outermost attribute
        if chain is None:
            return
        if chain[0] in _OPERATOR_ROOTS:
            if chain[0] == "math" and len(chain) == 2 and chain[1] in _MATH_CONSTANTS:
                return
            op = _operator(chain)
            if op is None or op not in ALLOWED_OPS:
                yield op or ".".join(chain)
        elif chain[0] == "__torch__" and not _defined(chain, modules):
            yield ".".join(chain)
    elif isinstance(node, ast.Call):
        yield from _refused_call(node, local, methods, top_functions, _all_operators())


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _refused_call(node: ast.Call, local: set[str], methods: set[str], top_functions: set[str],
                  operators: frozenset[str]) -> Iterator[str]:
    func = node.func
    if isinstance(func, ast.Name):
        name = func.id
        if name in DENIED_BUILTINS:
            yield name
        elif name in ("getattr", "hasattr") and node.args:
            root = _root(node.args[0])
            if isinstance(root, ast.Name) and root.id in (*_OPERATOR_ROOTS, "__torch__"):
                yield f"{name}({root.id}, ...)"
        elif name not in ALLOWED_BUILTINS and name not in local and name not in top_functions:
            yield name
    elif isinstance(func, ast.Attribute):
        chain = _chain(func)
        if chain is not None and chain[0] in (*_OPERATOR_ROOTS, "__torch__"):
            return  # checked as an attribute chain
        method = func.attr
        op = f"aten::{method}"
        if op in ALLOWED_OPS:
            return
        if method not in methods or op in operators or f"prim::{method}" in operators:
            yield f"the method {method}"
    else:
        yield "a computed call"


def _defined(chain: list[str], modules: set[str]) -> bool:
    """Whether ``__torch__.a.b.f`` names something inside a module the archive defines."""
    return any(".".join(chain[:i]) in modules for i in range(1, len(chain)))


# ============================================ after loading ==========================================
def refused_nodes(module: Any) -> list[str]:
    """Return the operators in ``module``'s inlined method graphs (all submodules) beyond the allowed ones."""
    refused = set()
    for _, sub in module.named_modules():
        for method in sub._c._method_names():
            refused.update(k for k in _graph_kinds(sub._c._get_method(method).inlined_graph)
                           if k not in ALLOWED_OPS)
    return sorted(refused)


def _graph_kinds(block: Any) -> Iterable[str]:
    for node in block.nodes():
        yield node.kind()
        for sub in node.blocks():
            yield from _graph_kinds(sub)


def check_graphs(module: Any, name: str) -> None:
    """Refuse a loaded TorchScript module whose graphs run more than :data:`ALLOWED_OPS` (no forward yet).

    Raises
    ------
    UntrustedFileError
        Naming the refused operators.
    """
    refused = refused_nodes(module)
    if refused:
        raise UntrustedFileError(TORCHSCRIPT_REFUSED.format(name=name, calls=listing(refused, limit=8)))

