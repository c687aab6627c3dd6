"""Build side: quantize artifact folders (needs ``edge-embed[build]``: onnxruntime's quantizer needs ``onnx``)."""
