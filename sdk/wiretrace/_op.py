"""``@op``: record a call of a function as a span.

Why four wrappers: a span must cover the work, and where the work happens depends on the
kind of function. A plain or ``async`` function works inside the call; a generator works
during each ``next()``, so the generator wrapper re-enters the span's context around every
step (nested ops and proxied calls made while producing an item then get the right parent)
and ends the span when the generator is exhausted, raises or is closed. The wrapper is
itself a function of the same kind, so ``inspect`` and ``isinstance`` checks on what the
app gets back still hold: nothing the app sees is replaced.

Failures of recording are contained (``_record``): the user's function always runs and its
result or exception reaches the caller unchanged.
"""

from __future__ import annotations

import functools

from ._context import CURRENT
from ._record import OpInfo, Yielded, end_error, end_ok, reset_context
from ._state import STATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
    from typing import Any, TypeVar, overload

    from ._span import Span

    F = TypeVar("F", bound=Callable[..., object])

__all__ = ["op"]

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200


def _code_flags(fn: object) -> int:
    """Code flags of what calling ``fn`` runs (through partials, methods, ``__call__``)."""
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    if code is None:  # a callable instance: what runs is its class's __call__
        call = next(
            (vars(k)["__call__"] for k in type(target).__mro__ if "__call__" in vars(k)), None
        )
        code = getattr(call, "__code__", None)
    return int(getattr(code, "co_flags", 0))


def _name_of(fn: object) -> str:
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return str(name).replace(".<locals>", "")


def _make_op(fn: Any, name: str | None) -> Any:
    if isinstance(fn, classmethod | staticmethod):
        return type(fn)(_make_op(fn.__func__, name))
    if getattr(fn, "__wiretrace_op__", None) is not None:  # already an op: never two spans
        return fn if name is None else _make_op(fn.__wrapped__, name)
    recorder = OpInfo(fn, name or _name_of(fn))
    flags = _code_flags(fn)
    wrapper: Callable[..., object]
    if flags & _CO_ASYNC_GENERATOR:
        wrapper = _async_generator_wrapper(fn, recorder)
    elif flags & _CO_GENERATOR:
        wrapper = _generator_wrapper(fn, recorder)
    elif flags & _CO_COROUTINE:
        wrapper = _async_wrapper(fn, recorder)
    else:
        wrapper = _sync_wrapper(fn, recorder)
    functools.update_wrapper(wrapper, fn)
    if isinstance(fn, functools.partial):
        wrapper.__name__ = wrapper.__qualname__ = recorder.name
    wrapper.__wiretrace_op__ = recorder  # type: ignore[attr-defined]
    return wrapper


def _op(fn: Any = None, /, *, name: str | None = None) -> Any:
    if fn is None:
        return lambda inner: _make_op(inner, name)
    return _make_op(fn, name)


if TYPE_CHECKING:

    @overload
    def op(fn: F, /) -> F: ...
    @overload
    def op(fn: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...
    def op(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
        """Record every call of ``fn`` as a span (``@op`` or ``@op(name="...")``)."""
        result: F | Callable[[F], F] = _op(fn, name=name)
        return result

else:
    op = _op
    op.__name__ = op.__qualname__ = "op"
    op.__doc__ = """Record every call of ``fn`` as a span (``@op`` or ``@op(name="...")``).

    Works on functions, ``async`` functions, generators, async generators, methods
    (``self`` is recorded as its class name), ``functools.partial`` objects and closures.
    The span records the bound arguments (defaults applied), the return value (for
    generators: the yielded items), the exception (re-raised unchanged) and timings.
    Without ``wiretrace.init()`` the function simply runs.
    """


def _sync_wrapper(fn: Callable[..., object], rec: OpInfo) -> Callable[..., object]:
    def wrapper(*args: object, **kwargs: object) -> object:
        if STATE.exporter is None:
            return fn(*args, **kwargs)
        span = rec.start(args, kwargs)
        if span is None:
            return fn(*args, **kwargs)
        token = CURRENT.set(span)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            end_error(span, exc)
            raise
        finally:
            CURRENT.reset(token)
        end_ok(span, result)
        return result

    return wrapper


def _async_wrapper(
    fn: Callable[..., Coroutine[object, object, object]], rec: OpInfo
) -> Callable[..., Coroutine[object, object, object]]:
    async def wrapper(*args: object, **kwargs: object) -> object:
        if STATE.exporter is None:
            return await fn(*args, **kwargs)
        span = rec.start(args, kwargs)
        if span is None:
            return await fn(*args, **kwargs)
        token = CURRENT.set(span)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            end_error(span, exc)
            raise
        finally:
            reset_context(token, span)
        end_ok(span, result)
        return result

    return wrapper


def _generator_wrapper(
    fn: Callable[..., Generator[object, object, object]], rec: OpInfo
) -> Callable[..., Generator[object, object, object]]:
    def wrapper(*args: object, **kwargs: object) -> Generator[object, object, object]:
        if STATE.exporter is None:
            return (yield from fn(*args, **kwargs))
        span = rec.start(args, kwargs)
        if span is None:
            return (yield from fn(*args, **kwargs))
        gen = fn(*args, **kwargs)
        items = Yielded()
        sent: object = None
        thrown: BaseException | None = None
        while True:  # PEP 380's expansion of `yield from`, each step inside the span
            token = CURRENT.set(span)
            try:
                item = gen.send(sent) if thrown is None else gen.throw(thrown)
            except StopIteration as stop:
                end_ok(span, items.result(), serialized=True)
                return stop.value
            except BaseException as exc:
                end_error(span, exc)
                raise
            finally:
                reset_context(token, span)
            thrown = None
            items.add(item)
            try:
                sent = yield item
            except GeneratorExit:
                _close_generator(gen, span, items)
                raise
            except BaseException as exc:
                thrown, sent = exc, None

    return wrapper


def _close_generator(gen: Generator[object, object, object], span: Span, items: Yielded) -> None:
    token = CURRENT.set(span)
    try:
        gen.close()
    except BaseException as exc:
        end_error(span, exc)
        raise
    finally:
        reset_context(token, span)
    end_ok(span, items.result(), serialized=True)


def _async_generator_wrapper(
    fn: Callable[..., AsyncGenerator[object, object]], rec: OpInfo
) -> Callable[..., AsyncGenerator[object, object]]:
    async def wrapper(*args: object, **kwargs: object) -> AsyncGenerator[object, object]:
        span = rec.start(args, kwargs) if STATE.exporter is not None else None
        agen = fn(*args, **kwargs)
        items = Yielded()
        sent: object = None
        thrown: BaseException | None = None
        while True:  # the `yield from` expansion for async generators, inside the span
            token = CURRENT.set(span) if span is not None else None
            try:
                if thrown is None:
                    item = await agen.asend(sent)
                else:
                    item = await agen.athrow(thrown)
            except StopAsyncIteration:
                if span is not None:
                    end_ok(span, items.result(), serialized=True)
                return
            except BaseException as exc:
                if span is not None:
                    end_error(span, exc)
                raise
            finally:
                if token is not None and span is not None:
                    reset_context(token, span)
            thrown = None
            if span is not None:
                items.add(item)
            try:
                sent = yield item
            except GeneratorExit:
                await _close_async_generator(agen, span, items)
                raise
            except BaseException as exc:
                thrown, sent = exc, None

    return wrapper


async def _close_async_generator(
    agen: AsyncGenerator[object, object], span: Span | None, items: Yielded
) -> None:
    token = CURRENT.set(span) if span is not None else None
    try:
        await agen.aclose()
    except BaseException as exc:
        if span is not None:
            end_error(span, exc)
        raise
    finally:
        if token is not None and span is not None:
            reset_context(token, span)
    if span is not None:
        end_ok(span, items.result(), serialized=True)
