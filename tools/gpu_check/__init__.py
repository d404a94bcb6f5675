"""The prepared GPU check, ``make gpu-check``: every PyTorch path of the book on one NVIDIA GPU, one JSON report.

Run from the repository root::

    PYTHONPATH=src:tools python -m gpu_check --out _build/gpu-check     # what `make gpu-check` runs

Stages (one module each), in order: ``probe`` (GPU, capability, driver, library versions, the
precision decision, also for a simulated T4 and A100), ``precision_matrix`` (the chapters' nets under
float32 with TF32 on and off, bfloat16, float16 with a GradScaler, and "today's T4 dispatch":
bfloat16 with cuDNN off; ms per step after a warm-up, synchronised; the chapter 4 recipe's floor;
determinism), ``loads`` (weights saved on the CPU load on the GPU and the reverse; ONNX fp32 and int8
exported from a model on the GPU), ``profiler`` (chapter 4b's profile counts each kernel once) and
``chapters`` (chapters 4, 4b, 6 without its Keras cells, and 7, converted to scripts by ``nb2py`` and
run in strict mode). ``report.json`` in ``--out`` names every stage with its result, seconds and
measurements; the process exits non-zero when any stage failed.

Without a GPU every stage runs on the CPU in quick mode (``DIGITLAB_QUICK=1``), and the report says
so: CI runs it after ``make test``, so the script cannot rot. On a GPU the chapters run in full mode.

Preparing a GPU machine that has PyTorch, ONNX Runtime, scikit-learn and matplotlib but no TensorFlow,
no Jupyter and no network, where only a small folder travels with the working tree:

1. On any machine with the book's environment, fetch MNIST once (``python -c "from digitlab import
   data; data.load_mnist()"``) and copy ``$DIGITLAB_HOME/mnist.npz`` (about 11 MB; the default home is
   ``~/.cache/digitlab``) into ``.gpucheck/home/`` in the checkout, a folder that is never committed
   (name it among the paths that travel if your git ignores it). Nothing else is needed: the zoo
   models the chapters use are trained on the GPU machine. Keep the folder well under the 64 MiB
   that travel.
2. On the GPU machine, from the checkout (``digitlab`` is imported from ``src/``, not installed)::

       export DIGITLAB_HOME=$TMPDIR/dl PYTHONPATH=src:tools MPLBACKEND=Agg
       mkdir -p $DIGITLAB_HOME && cp -r .gpucheck/home/. $DIGITLAB_HOME/
       timeout 540 python3 -m gpu_check --out $OUT/gpu-check

   ``--stages probe,loads`` runs some stages only; ``--budget`` (seconds, default 480) stops starting
   new chapters when the time is nearly spent (their entries then say "not run: budget").
"""
