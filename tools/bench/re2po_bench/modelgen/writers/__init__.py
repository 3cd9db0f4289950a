"""One module per file format the generator writes: pt (torch.save),
safetensors (by hand), h5 (h5py), onnx_model (torch.onnx.export)."""

# the file of a model version in each format
FILE_NAMES = {"pt": "model.pt", "safetensors": "model.safetensors",
              "onnx": "model.onnx", "h5": "model.h5"}
