-- A review item's calibration: the train ladder and test setting that
-- `export` and `generate --split` use are in the calibration's result.
-- One per item; calibrating the item again replaces the link.

CREATE TABLE review_calibrations (
    item_id         INTEGER PRIMARY KEY REFERENCES review_items(id),
    calibration_id  INTEGER NOT NULL REFERENCES calibrations(id),
    created_at      TEXT NOT NULL
);
