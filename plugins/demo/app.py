"""The demo page (Gradio): :func:`build` lays it out over a :class:`~ganzoo_plugins.demo.service.Demo`,
:func:`serve` runs it until Ctrl-C. Nothing here phones home: Gradio's analytics are off, the theme uses the
system's fonts (no web fonts), no share link, no server-side rendering."""

from __future__ import annotations

import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # before gradio is imported

import click  # noqa: E402
import gradio as gr  # noqa: E402

from ganzoo.errors import ConfigError, GanzooError  # noqa: E402

from .service import MAX_SAMPLES, MAX_SEED, MAX_STEPS, MAX_UPLOAD_BYTES, Demo, numbers  # noqa: E402

BUTTONS = ["download", "fullscreen"]   # no "share": it posts to the Hugging Face Hub
GRID = ("every class (one row each)", -1)
SLOTS = 4          # latent dimensions, and latent codes, that the page sets with sliders (the API takes any number)
SPAN = 3.0         # the sliders' range: z ~ N(0, 1), +-3 holds 99.7% of it


def _theme():
    system = [gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")]
    return gr.themes.Default(font=system, font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")])


def _message(exc) -> str:
    return f"**{exc}**"


def build(demo: Demo) -> gr.Blocks:
    """The page: a model picker with the model's card, samples (seed, n, class, truncation), a latent walk
    between two seeds, a latent grid over two dimensions, the reconstruction of an uploaded image, and the
    ``sample``, ``latent`` and ``code_values`` API endpoints."""
    names = list(demo.choices)

    def controls(name):
        try:
            d = demo.describe(name)
        except GanzooError as exc:
            return (_message(exc),) + (gr.update(),) * (9 + 2 * SLOTS)
        cats = d["code_categories"][:SLOTS] + [None] * (SLOTS - len(d["code_categories"][:SLOTS]))
        code_slots = [gr.update(visible=bool(k), choices=[(str(c), c) for c in range(k or 2)], value=0) for k in cats]
        code_slots += [gr.update(visible=k == 0, value=0) for k in cats]
        takes = "truncation" in d["options"]
        classes = [GRID] + [(f"{i}: {c}" if c != str(i) else c, i) for i, c in enumerate(d["labels"])]
        return (d["card"], gr.update(choices=classes, value=-1, visible=bool(d["labels"])),
                gr.update(visible=takes, value=False), gr.update(visible=takes),
                gr.update(visible=d["walks"]), gr.update(visible=d["reconstructs"]), gr.update(visible=d["traverses"]),
                gr.update(visible=bool(d["codes"])),
                gr.update(choices=[(c, i) for i, c in enumerate(d["codes"])] or [("none", 0)], value=0),
                gr.update(visible=d["latent"]), *code_slots)

    def options(use_truncation, psi):
        return {"truncation": psi} if use_truncation else {}

    def shown(draw, *args, **options):
        """``(picture, "")``, or ``(None, the message)`` for a user's mistake: never a stack trace."""
        try:
            return draw(*args, **options), ""
        except GanzooError as exc:
            return None, _message(exc)

    def sample(name, seed, n, label, use_truncation, psi):
        start = time.perf_counter()
        picture, message = shown(demo.sample, name, seed, n, label, **options(use_truncation, psi))
        return picture, message or f"{name}, seed {seed}: drawn in {time.perf_counter() - start:.2f} s"

    def walk(name, seed, end_seed, steps, label, use_truncation, psi):
        return shown(demo.walk, name, seed, end_seed, steps, label, **options(use_truncation, psi))

    def traverse(name, d0, d1, steps, label):
        return shown(demo.traverse, name, d0, d1, steps, label)

    def codes(name, code, rows, steps, seed, label):
        return shown(demo.codes, name, code, rows, steps, seed, label)

    def set_dims(name, seed, label, use_truncation, psi, *slots):
        dims, values = slots[:SLOTS], slots[SLOTS:]
        chosen = [(d, v) for d, v in zip(dims, values) if d is not None and d != -1]
        return shown(demo.latent, name, seed, [d for d, _ in chosen], [v for _, v in chosen], label,
                     **options(use_truncation, psi))

    def set_codes(name, seed, label, use_truncation, psi, *slots):
        try:
            cats = demo.describe(name)["code_categories"][:SLOTS]
        except GanzooError as exc:
            return None, _message(exc)
        values = [slots[i] if k else slots[SLOTS + i] for i, k in enumerate(cats)]
        return shown(demo.code_values, name, seed, values, label, **options(use_truncation, psi))

    def api_latent(model, seed, dims, values, label):
        """dims, values: comma-separated ("0, 5" and "2.5, -1")."""
        return raised(lambda: demo.latent(model, seed, numbers(dims, "dims"), numbers(values, "values"), label))

    def api_code_values(model, seed, values, label):
        """values: one per code, comma-separated ("7, 0.5, -1"); "-" keeps the seed's draw of that code."""
        return raised(lambda: demo.code_values(
            model, seed, [None if v == "-" else v for v in numbers(values, "values")], label))

    def reconstruct(name, upload, label):
        return shown(demo.reconstruct, name, upload, label)

    def raised(draw):
        """``draw()`` for an API endpoint: a user's mistake is a gr.Error, one message to the client."""
        try:
            return draw()
        except GanzooError as exc:
            raise gr.Error(str(exc)) from None

    def api_sample(model, seed, n, label):
        return raised(lambda: demo.sample(model, seed, n, label))

    with gr.Blocks(title="ganzoo demo", analytics_enabled=False) as page:
        gr.Markdown("## ganzoo demo\nSamples of the zoo's models: the pictures of `ganzoo sample` "
                    "(same model, seed, n and class, same pixels).")
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(names, value=demo.first, label="model", elem_id="model")
                card = gr.Markdown(elem_id="card")
            with gr.Column(scale=2):
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="seed", elem_id="seed")
                    n = gr.Number(64, precision=0, minimum=1, maximum=MAX_SAMPLES, label="samples (n)", elem_id="n")
                    label = gr.Dropdown([GRID], value=-1, label="class", elem_id="label", visible=False)
                with gr.Row():
                    use_truncation = gr.Checkbox(False, label="truncation trick", elem_id="use-truncation",
                                                 visible=False)
                    psi = gr.Slider(0.05, 2.0, value=0.7, step=0.05, label="truncation psi", elem_id="psi",
                                    visible=False)
                generate = gr.Button("Generate", variant="primary", elem_id="generate")
                status = gr.Markdown(elem_id="status")
                image = gr.Image(type="pil", format="png", label="samples", elem_id="samples", interactive=False,
                                 buttons=BUTTONS)
                with gr.Accordion("Latent walk between two seeds", open=False, visible=False) as walk_box:
                    with gr.Row():
                        end_seed = gr.Number(1, precision=0, minimum=0, maximum=MAX_SEED, label="to seed")
                        steps = gr.Slider(2, MAX_STEPS, value=10, step=1, label="steps")
                    walk_go = gr.Button("Walk", elem_id="walk")
                    walk_status = gr.Markdown(elem_id="walk-status")
                    walk_image = gr.Image(type="pil", format="png", label="walk", elem_id="walk-image", buttons=BUTTONS,
                                          interactive=False)
                with gr.Accordion("Latent grid over two dimensions (the others at 0)", open=False,
                                  visible=False) as grid_box:
                    with gr.Row():
                        dim0 = gr.Number(0, precision=0, minimum=0, label="dimension (columns)")
                        dim1 = gr.Number(1, precision=0, minimum=0, label="dimension (rows)")
                        grid_steps = gr.Slider(2, MAX_STEPS, value=15, step=1, label="steps")
                    grid_go = gr.Button("Traverse", elem_id="traverse")
                    grid_status = gr.Markdown(elem_id="grid-status")
                    grid_image = gr.Image(type="pil", format="png", label="latent grid", elem_id="grid-image",
                                          interactive=False, buttons=BUTTONS)
                with gr.Accordion("Latent sliders: set dimensions of the seed's latent", open=False,
                                  visible=False, elem_id="latent-box") as latent_box:
                    dims, dim_values = [], []
                    for i in range(SLOTS):
                        with gr.Row():
                            dims.append(gr.Number(i if i < 2 else -1, precision=0, minimum=-1,
                                                  label="latent dimension (-1: none)", elem_id=f"latent-dim-{i}"))
                            dim_values.append(gr.Slider(-SPAN, SPAN, value=0, step=0.1, label="value",
                                                        elem_id=f"latent-value-{i}"))
                    latent_go = gr.Button("Decode", elem_id="latent")
                    latent_status = gr.Markdown(elem_id="latent-status")
                    latent_image = gr.Image(type="pil", format="png", label="the seed's sample, dimensions set",
                                            elem_id="latent-image", interactive=False, buttons=BUTTONS)
                with gr.Accordion("Latent codes", open=False, visible=False) as codes_box:
                    gr.Markdown("The seed's sample with each code set (a category, or a continuous value):")
                    with gr.Row():
                        code_cats = [gr.Dropdown([("0", 0)], value=0, label=f"code {i}", elem_id=f"code-cat-{i}",
                                                 visible=False) for i in range(SLOTS)]
                        code_reals = [gr.Slider(-SPAN, SPAN, value=0, step=0.1, label=f"code {i}", visible=False,
                                                elem_id=f"code-value-{i}") for i in range(SLOTS)]
                    code_values_go = gr.Button("Set the codes", elem_id="code-values")
                    code_values_status = gr.Markdown(elem_id="code-values-status")
                    code_values_image = gr.Image(type="pil", format="png", label="the seed's sample, codes set",
                                                 elem_id="code-values-image", interactive=False, buttons=BUTTONS)
                    gr.Markdown("Rows where only one code varies:")
                    with gr.Row():
                        code = gr.Dropdown([("none", 0)], value=0, label="code", elem_id="code")
                        code_rows = gr.Slider(1, MAX_STEPS, value=10, step=1, label="rows (draws of z, from the seed)")
                        code_steps = gr.Slider(2, MAX_STEPS, value=15, step=1, label="values of a continuous code")
                    codes_go = gr.Button("Vary the code", elem_id="codes")
                    codes_status = gr.Markdown(elem_id="codes-status")
                    codes_image = gr.Image(type="pil", format="png", label="latent code", elem_id="codes-image",
                                           interactive=False, buttons=BUTTONS)
                with gr.Accordion("Reconstruct an image (PNG or JPEG)", open=True, visible=False) as recon_box:
                    upload = gr.File(file_types=[".png", ".jpg", ".jpeg"], label="image", elem_id="upload")
                    recon_go = gr.Button("Reconstruct", elem_id="reconstruct")
                    recon_status = gr.Markdown(elem_id="recon-status")
                    recon_image = gr.Image(type="pil", format="png", label="input | reconstruction",
                                           elem_id="recon-image", interactive=False, buttons=BUTTONS)
        # the API endpoint: model, seed, n, label (-1: the default) -> the picture
        api_label = gr.Number(-1, precision=0, visible=False)
        api_image = gr.Image(type="pil", format="png", visible=False)
        api_go = gr.Button(visible=False)
        api_first, api_second = gr.Textbox(visible=False), gr.Textbox(visible=False)
        api_latent_go, api_codes_go = gr.Button(visible=False), gr.Button(visible=False)

        per_model = [card, label, use_truncation, psi, walk_box, recon_box, grid_box, codes_box, code, latent_box,
                     *code_cats, *code_reals]
        model.change(controls, model, per_model, api_visibility="private")
        page.load(controls, model, per_model, api_visibility="private")
        generate.click(sample, [model, seed, n, label, use_truncation, psi], [image, status], api_name="generate")
        walk_go.click(walk, [model, seed, end_seed, steps, label, use_truncation, psi], [walk_image, walk_status],
                      api_name="walk")
        grid_go.click(traverse, [model, dim0, dim1, grid_steps, label], [grid_image, grid_status], api_name="traverse")
        codes_go.click(codes, [model, code, code_rows, code_steps, seed, label], [codes_image, codes_status],
                       api_name="codes")
        recon_go.click(reconstruct, [model, upload, label], [recon_image, recon_status], api_name="reconstruct")
        api_go.click(api_sample, [model, seed, n, api_label], api_image, api_name="sample")
        # the sliders redraw when let go, as the buttons do; the API endpoints take comma-separated lists
        latent_in = [model, seed, label, use_truncation, psi, *dims, *dim_values]
        latent_go.click(set_dims, latent_in, [latent_image, latent_status], api_visibility="private")
        for slider in dim_values:
            slider.release(set_dims, latent_in, [latent_image, latent_status], api_visibility="private")
        codes_in = [model, seed, label, use_truncation, psi, *code_cats, *code_reals]
        code_values_go.click(set_codes, codes_in, [code_values_image, code_values_status], api_visibility="private")
        for control in code_reals:
            control.release(set_codes, codes_in, [code_values_image, code_values_status], api_visibility="private")
        for control in code_cats:
            control.input(set_codes, codes_in, [code_values_image, code_values_status], api_visibility="private")
        api_latent_go.click(api_latent, [model, seed, api_first, api_second, api_label], api_image, api_name="latent")
        api_codes_go.click(api_code_values, [model, seed, api_first, api_label], api_image, api_name="code_values")
    return page


def serve(sources, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the demo of the zoo and ``sources`` on ``host``:``port`` until Ctrl-C."""
    demo = Demo(sources)
    page = build(demo)
    try:
        page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, share=False,
                    show_error=True, ssr_mode=False, mcp_server=False, pwa=False, theme=_theme(),
                    max_file_size=MAX_UPLOAD_BYTES, enable_monitoring=False)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port} ({str(exc)[:120]}); pick another --port") from None
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    click.echo(f"ganzoo demo: {len(demo.choices)} models at http://{shown}:{port}/ (Ctrl-C stops)", )
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"ganzoo demo: note: bound to {host}: other machines can reach the page", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        page.close()
    click.echo("ganzoo demo: stopped")
