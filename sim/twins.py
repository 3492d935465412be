"""Which twin stands in for each device type: a twin speaks its type's bytes at the wire.
Owned by sim/ (the drivers never name their simulators); a family's twin adds its line here."""

from __future__ import annotations

from kioskd.drivers.registry import load

TWINS: dict[str, str] = {
    "idcard.sam": "kioskd.sim.idcard:SamReaderTwin",
    "printer.escpos": "kioskd.sim.printer:PrinterTwin",
    "board.bx": "kioskd.sim.board:BxBoardTwin",
    "board.mqtt": "kioskd.sim.board:MqttBoardTwin",
    "pad.serial": "kioskd.sim.pad:SerialPadTwin",
    "pad.mqtt": "kioskd.sim.pad:MqttPadTwin",
    "pad.web": "kioskd.sim.pad:WebPadTwin",
    "camera.uvc": "kioskd.sim.camera:CameraTwin",
    "scanner.serial": "kioskd.sim.scanner:SerialScannerTwin",
    "scanner.hid": "kioskd.sim.scanner:HidScannerTwin",
    "caller.serial": "kioskd.sim.caller:KeypadTwin",
    "cardreader.pcsc": "kioskd.sim.cardreader:SocialCardTwin",
    "gate.modbus": "kioskd.sim.relayboard:GateTwin",
    "locker.modbus": "kioskd.sim.relayboard:LockerTwin",
}


def twin_class(type_name: str) -> type:
    ref = TWINS.get(type_name)
    if ref is None:
        raise LookupError(f"no twin for device type {type_name!r} (sim/twins.py)")
    return load(ref)
