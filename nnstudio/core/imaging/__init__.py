"""Images of digits: one loader for files (every surface uses it) and the MNIST recipe that
turns a drawing or a picture into the 28x28 input a network reads."""

from .cleanup import CleanedPicture, clean_picture
from .folder import FolderDigits, import_folder, read_folder
from .loader import ink_on_black, load_image_file, load_picture
from .mnist import BOX, SIZE, DigitReading, has_ink, preprocess_digit, read_digit, read_image, recipe_for, resize

__all__ = [
    "BOX",
    "CleanedPicture",
    "FolderDigits",
    "import_folder",
    "read_folder",
    "clean_picture",
    "load_picture",
    "SIZE",
    "DigitReading",
    "has_ink",
    "ink_on_black",
    "load_image_file",
    "preprocess_digit",
    "read_digit",
    "read_image",
    "recipe_for",
    "resize",
]
