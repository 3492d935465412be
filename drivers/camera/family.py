"""高拍仪: a UVC document camera, its pages and the codes on them."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import Option, table

TYPES = (
    DeviceType(
        "camera.uvc", Role.CAMERA, ("window",), ("v4l2", "file"),
        table(Option("width", int, 2592, "frame width asked of the camera", 160, 2592, "px"),
              Option("height", int, 1944, "frame height", 120, 1944, "px"),
              Option("decoder", str, "zxing", "barcode decoder", choices=("zxing", "zbar")),
              Option("still_ms", int, 800, "a page still this long is captured", 100, 10_000,
                     "ms"),
              Option("auto_capture", bool, True, "capture a page once it lies still"),
              Option("pace", bool, True, "file://: play frames at their recorded pace"),
              Option("loop", bool, True, "file://: start again at the end"),
              Option("jpeg_quality", int, 85, "quality of captured pages", 30, 100)),
        "kioskd.drivers.camera.driver:CameraDriver",
        actions=(Action("c", "capture", "Capture"), Action("s", "status", "Status"),
                 Action("k", "last", "Codes", "GET /api/devices/{id}/last"))),
)
