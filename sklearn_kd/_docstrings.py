"""Docstring text that the distilling estimators share.

The classifier and the regressor take most parameters alike; their docstrings
(the class's and its methods') hold the placeholder ``[[name]]`` where a shared
block goes, and :func:`fill_docstring` puts the block in, worded for the task and
indented as the placeholder is.
"""

import re
import textwrap

from .student import _budget, _selection

_TASK_WORDS = {
    "classifier": {
        "output_argument": "n_classes",
        "scored_target": (
            "class: its label, or the teacher's class for an unlabelled row"
        ),
        "held_out": "a stratified 20%",
        "criterion": (
            "weighted log loss at its best temperature (a student that mimics a "
            "forest's soft votes is less confident than one trained on labels, "
            "and a plain log loss would favour the latter for that alone)"
        ),
        "output_map": "logit bias",
    },
    "regressor": {
        "output_argument": "n_outputs",
        "scored_target": (
            "target values: its labels, or the teacher's predictions where it has none"
        ),
        "held_out": "20%",
        "criterion": "weighted mean squared error, in standard units",
        "output_map": "the map back to the targets' units",
    },
}

_BLOCKS = {
    "rows_to_predict": """\
    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows to predict, with the columns (and names) seen in ``fit``.

    Returns
    -------
""",
    "rows_for_the_teacher": """\
    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows, passed to the teacher as they are.

    Returns
    -------
""",
    "augmentation": """\
    augment : {"auto", "munge"} or None, default="auto"
        ``"munge"`` adds synthetic rows (Bucila et al., 2006), labelled by the
        teacher's soft targets only; each synthetic row has the ``sample_weight``
        of the row it was made from. ``"auto"``: ``fit`` chooses between
        ``"munge"`` and ``None`` (see Notes).
    augment_factor : int, default=5
        Synthetic rows per real row with ``augment="munge"``.
    munge_swap_probability : float, default=0.5
        MUNGE's probability of taking an attribute from the nearest neighbour.
    munge_spread : float, default=1.0
        MUNGE's ``s``: continuous values are drawn with standard deviation
        ``|a - b| / s`` around the neighbour's value.
    categorical_features : array-like of int or bool, default=None
        Categorical columns (indices or a boolean mask, as in
        ``HistGradientBoostingClassifier``), integer-coded. The student one-hot
        encodes them inside the network; MUNGE swaps them as values. ``None``
        takes them from the teacher where it declares them: a histogram
        gradient boosting model's categorical features, or the columns a teacher
        pipeline one-hot, ordinal or target encodes; elsewhere integer codes
        are read as numbers, so name them here (``[]`` turns the detection off).
        A DataFrame's non-numeric and ``category`` columns are always
        categorical.
""",
    "student": """\
    student : subclass of torch.nn.Module, default=None
        The student's network, constructed as ``student(n_features_in=...,
        {output_argument}=..., **student__params)`` where ``n_features_in`` is the width
        of the encoded input. Its own arguments are set as ``student__name=value``
        (in the constructor, ``set_params`` or a grid), and checked against its
        signature before any work. ``None`` builds an :class:`~sklearn_kd.MLP`
        with ``hidden_layer_sizes`` (its other arguments, such as
        ``student__dropout``, are nested parameters too; under the
        piecewise-linear encoding its dropout defaults to 0.2).
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Hidden layers of the default MLP student, positive integers; the one way
        to set them (``student__hidden_layer_sizes`` is an error), and an error
        with a custom ``student``. ``"auto"``: ``(w, w // 2)`` with ``w`` the
        power of two at or above ``4 * (n_inputs + n_outputs)``, clipped to
        ``[32, 256]``.
    max_epochs : int or "auto", default="auto"
        Training epochs (an upper bound with ``early_stopping``). ``"auto"``:
        a budget of about {training_steps} optimizer steps over the real rows,
        between {min_epochs} and {max_epochs} epochs over them; a synthetic
        (MUNGE) row counts for a fifth of a real one, so MUNGE's five rows per
        real row double the steps rather than multiply them by six.
        ``selected_params_`` records the value used.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch. ``"auto"``: 256 up to 64,000 real rows, then the
        power of two at or below rows / 250, at most 1,024.
    lr : float, default=3e-3
        Learning rate of ``optimizer``: the peak rate under ``lr_schedule``.
    lr_schedule : {"cosine"} or None, default="cosine"
        ``"cosine"`` decays the rate from ``lr`` to zero along a half cosine
        over ``max_epochs``, batch by batch (a training continued with
        ``partial_fit`` follows the same curve); on training-row probes it
        reached a lower held-out loss than a constant rate in the student's
        budget of steps. ``None`` keeps ``lr`` constant; pass it to schedule
        the rate with your own skorch ``LRScheduler`` in ``callbacks``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Its other arguments are set as ``optimizer__name=value``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks, alone or as ``(name, callback)`` tuples (copied
        before use, so the given ones stay as they are). A named callback's
        parameters are nested parameters, ``callbacks__name__param``, so they can
        be grid-searched. Scoring callbacks (``EpochScoring``, ``BatchScoring``)
        score against each row's {scored_target}. ``Checkpoint`` monitors ``valid_loss_best`` by default,
        which exists only with ``early_stopping=True``; otherwise give it
        ``monitor="train_loss_best"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop once the validation
        loss has not improved for ``n_iter_no_change`` epochs, keeping the best
        weights. Only real rows validate: synthetic (MUNGE) rows never do, and
        those made from a held-out row are not trained on either. At least one
        row must be left to train on.
    validation_fraction : float, default=0.1
        Share of the real rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the student trains; ``"auto"`` uses a GPU when there is one. A model
        trained on a GPU predicts on a CPU after unpickling.
    accelerate : bool or dict, default=None
        Train the student through Hugging Face Accelerate (the ``accelerate``
        extra): ``True``, or the keyword arguments of an ``accelerate.Accelerator``
        (``{"mixed_precision": "bf16"}``, say), which ``fit`` builds. Under
        ``accelerate launch`` the student trains on every process at once
        (distributed data parallel, each process on its share of the rows) and
        the teacher stage runs on the main process only; ``device="cpu"`` keeps
        Accelerate on the CPU. See the user guide's "Scaling out" page.
    encoding : {"auto", "standard", "piecewise_linear"}, default="auto"
        How the student's network reads each numeric column (the teacher always
        sees the raw ``X``). ``"standard"``: the value itself, standardised as
        ``scaling`` says. ``"piecewise_linear"``: the piecewise-linear encoding
        of Gorishniy et al. (2022) over ``n_bins`` bins, whose edges are
        quantiles of the teacher's split thresholds when the teacher is a tree
        ensemble on the raw columns, else quantiles of the training rows; it
        often lets a student match a forest where trees are far ahead of a
        plain MLP, and costs accuracy on smooth data. ``"auto"``: chosen by
        ``fit`` (see Notes). Categorical columns are one-hot encoded and missing
        values get an indicator either way.
    n_bins : int, default=32
        The most piecewise-linear bins per numeric column.
    scaling : {"standard"} or None, default="standard"
        Standardisation of numeric columns under ``encoding="standard"``;
        piecewise-linear bins are already on a common scale, and ignore it.
""",
    "running": """\
    teacher_batch_size : int, default=10000
        The most rows sent to the teacher in one call.
    memory : str, joblib.Memory or None, default=None
        Cache of the teacher stage (teacher outputs, and teachers fitted here),
        keyed by the teacher's content and the data, as in
        ``Pipeline(memory=...)``. A grid search over the student's settings then
        queries the teacher once per fold. The key holds the teacher's content,
        the rows, labels, sample weights, synthetic rows, the soft-target source
        and the cross-fit folds, nothing else: with ``random_state=None`` a grid
        search still hits it, except where cross-fit folds or MUNGE rows are
        drawn anew in each fit (set ``random_state`` then).
    n_jobs : int, default=None
        Parallel jobs for fitting cross-fit teachers and querying the teacher
        (``None`` means 1); they run on joblib's configured backend.
    n_threads : int, default=None
        Torch intra-op threads while the student trains and predicts (restored
        afterwards). ``None``: one thread per about 2 GFLOP of work per
        mini-batch step (or prediction call), within the cores this process may
        use (its CPU affinity, ``OMP_NUM_THREADS`` as set by joblib or Dask
        workers, threadpoolctl limits), and never chosen by the machine's
        current load, so results do not depend on it. A default student thus
        trains on one thread: at its size more threads cost more in
        synchronisation than they save, many times more beside other work.
    random_state : int, RandomState instance or None, default=None
        Seeds the student's initialisation and shuffling, the folds and MUNGE.
    verbose : int, default=0
        ``0`` silent; ``1`` one line per stage that can take seconds (teacher,
        MUNGE, selection, student: what it did, on how many rows, in how long)
        and progress bars (tqdm, which comes with skorch); ``2`` also skorch's
        table of epochs.
""",
    "selection_notes": """\
    Notes
    -----
    **Automatic selection.** Each of ``encoding``, ``augment`` and
    ``soft_target_weight`` left at ``"auto"`` is chosen by ``fit`` on the
    training rows: the teacher is fitted and queried once and the MUNGE rows
    made once; {held_out} of the labelled rows is held out (with the
    synthetic rows made from them); every candidate, from the product of both
    encodings, MUNGE or not (MUNGE up to {munge_max_rows} real rows), and
    ``w`` in ``{0, 0.5}`` (the label-only student of each encoding is always
    one, so a teacher worse than its student cannot drag the default below
    training on labels alone), trains on the other rows for {epoch_share} of
    the training budget on at most {max_rows} real rows, and is scored on the
    held-out rows by its {criterion}; the selection halves: all candidates
    first train a third of those epochs, and only the better half (with the
    best label-only candidate) trains on to the full epochs and is scored
    again. The cheapest finished candidate (rows seen times
    the network's weights) within one standard error of the best score is
    trained again on all rows: a costlier candidate (the piecewise-linear
    encoding's wider input) must win clearly, and among equally cheap ones the
    fallback below comes first. ``selected_params_``, ``selection_scores_``
    and ``selection_reason_`` record the outcome (``verbose=1`` prints it).
    Explicit values are never searched, so a grid search over them is not
    doubled. The rule has no row count at which it switches: it runs from
    {min_rows} labelled rows (a hold-out of
    {min_validation_rows}), and on a small hold-out the standard error is wide,
    so the fallback (``encoding="standard"``, ``augment=None``,
    ``soft_target_weight=0.5``) wins unless another candidate is clearly
    better; grid-search folds thus train the kind of student the refit trains.
    Below {min_rows} labelled rows the fallbacks are used. A fitted teacher
    has seen the held-out rows' labels, which favours the distilled
    candidates somewhat; an unfitted one (fitted here, out-of-bag or
    cross-fitted) does not.
""",
    "fitted_state": """\
    selected_params_ : dict
        The ``encoding``, ``augment`` and ``soft_target_weight`` the student was
        trained with (chosen by ``fit`` where they were ``"auto"``), and its
        ``max_epochs`` and ``batch_size`` (the budget's where ``"auto"``).
    selection_scores_ : dict or None
        Each candidate's held-out score (lower is better) after its last
        round when ``fit`` chose between candidates; None when nothing was
        searched.
    selection_reason_ : str
        Why the student has its settings: the selection's rule for the winner,
        or why nothing was searched.
    student_ : StudentNet
        The trained skorch net; ``student_.module_`` is the PyTorch module
        (input encoding, network and {output_map}) and ``student_.history`` its
        training history.
    category_codes_ : CategoryCodes or None
        The integer coding of a DataFrame's string columns, learnt in ``fit``.
    input_offset_ : ndarray of shape (n_features,) or None
        Float64 shifts subtracted from the columns before the student's float32,
        for columns far from zero that float32 would round coarsely (a Unix
        timestamp); None when no column needs one.
    allow_nan_ : bool
        Whether ``predict`` accepts NaN: when ``fit`` saw NaN, or the teacher is
        known to accept it (the student imputes either way).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
""",
}


def _words(task):
    return {
        **_TASK_WORDS[task],
        "epoch_share": f"{_selection.EPOCH_SHARE:.0%}",
        "max_rows": f"{_selection.MAX_CANDIDATE_ROWS:,}",
        "min_rows": f"{_selection.MIN_VALIDATION_ROWS / _selection.VALIDATION_FRACTION:,.0f}",
        "munge_max_rows": f"{_selection.MUNGE_MAX_ROWS:,}",
        "min_validation_rows": str(_selection.MIN_VALIDATION_ROWS),
        "training_steps": f"{_budget.TRAINING_STEPS:,}",
        "min_epochs": str(_budget.MIN_EPOCHS),
        "max_epochs": str(_budget.MAX_EPOCHS),
    }


def fill_docstring(task):
    """Class decorator: put the shared blocks into the docstrings of the class
    and of the methods it defines."""

    def decorate(cls):
        words = _words(task)

        def block(match):
            text = _BLOCKS[match.group(2)]
            for key, value in words.items():
                text = text.replace("{" + key + "}", value)
            # Blocks are written, and reflowed, at a class docstring's indent.
            extra = len(match.group(1)) - 4
            text = _reflow(text.rstrip("\n"), width=88 - extra)
            return textwrap.indent(text, " " * extra) if extra else text

        def filled(doc):
            return re.sub(r"^( +)\[\[(\w+)\]\]$", block, doc, flags=re.M)

        cls.__doc__ = filled(cls.__doc__)
        for member in vars(cls).values():
            if callable(member) and member.__doc__ and "[[" in member.__doc__:
                member.__doc__ = filled(member.__doc__)
        return cls

    return decorate


_PARAMETER_LINE = re.compile(r"^    [*\w]+ : |^    [*\w]+$|^    -+$|^    \*\*")


def _reflow(text, width=88):
    """Rewrap each paragraph (a run of lines of one indentation that are not
    parameter or section lines) to ``width`` columns."""
    lines, out, run = text.split("\n"), [], []

    def flush():
        if run:
            indent = run[0][: len(run[0]) - len(run[0].lstrip())]
            out.extend(
                textwrap.wrap(
                    " ".join(line.strip() for line in run),
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent,
                    break_on_hyphens=False,
                )
            )
            run.clear()

    for line in lines:
        indent = len(line) - len(line.lstrip())
        keep = not line.strip() or _PARAMETER_LINE.match(line)
        same = run and indent == len(run[0]) - len(run[0].lstrip())
        if keep or not same:
            flush()
        if keep:
            out.append(line)
        else:
            run.append(line)
    flush()
    return "\n".join(out)
