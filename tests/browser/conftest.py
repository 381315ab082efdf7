"""The browser tests' marker: `pytest -m browser` runs only them, `-m "not browser"` skips them."""


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: renders the committed notebooks in JupyterLab in headless Chromium (`make chromium`)")
