"""One module per file format the generator writes: pt (torch.save),
safetensors (by hand), h5 (h5py; also "keras": the same weights in Keras
layout), onnx_model (torch.onnx.export)."""

# the file of a model version in each format
FILE_NAMES = {"pt": "model.pt", "safetensors": "model.safetensors",
              "onnx": "model.onnx", "h5": "model.h5", "keras": "model.h5"}
