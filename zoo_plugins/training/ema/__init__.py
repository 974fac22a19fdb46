"""Weight EMA: an exponential moving average of the weights, updated after every optimizer step.
Any recipe switches it on with ``averager="ema"`` (``zoo train --averager ema``); the run then
validates, saves, tests and exports the averaged weights."""

from zoo_core import Option, hookimpl


@hookimpl
def zoo_register_averagers(register):
    register(
        "ema",
        "zoo_plugins.training.ema.average:ema",
        description="Exponential moving average of the weights and batch-norm statistics.",
        options=(
            Option(
                "ema_decay",
                float,
                0.998,
                "Share of the average kept at each step (its horizon is about 1 / (1 - decay) steps).",
                min=0,
                max=0.999999,
            ),
            Option(
                "ema_warmup",
                bool,
                True,
                "Start with a short memory, min(decay, (1 + n) / (10 + n)) after n steps, as timm's "
                "ModelEmaV3 does, so that early weights do not linger.",
            ),
        ),
    )
