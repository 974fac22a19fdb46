"""The zoo's built-in exporter plugins: safetensors and ONNX."""
