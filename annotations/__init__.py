"""varbind.annotations: transcript models to per-base region classes and strand; expression."""
