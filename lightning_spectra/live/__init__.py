"""Live analysis of the European XFEL's Karabo bridge stream: ``lightning-spectra-watch --bridge`` (docs/live.md).

One job per module: :mod:`.receiver` takes the newest train off the ZeroMQ socket, :mod:`.trains` checks it and
takes its spectra out, :mod:`.results` writes the rows and serves them again, :mod:`.monitor` keeps the running
numbers and the held state, :mod:`.bridge` runs the loop. Nothing here imports ``karabo_bridge`` or ``zmq`` until
a stream is opened: they come with the ``xfel`` extra.
"""
