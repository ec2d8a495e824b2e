import { describe, expect, it } from "vitest";
import {
  KLM_SLOTS,
  barrelGapInnerRadius,
  barrelGapOuterRadius,
  barrelGlobal,
  barrelIronPlate,
  barrelLayerRadius,
  barrelLocal,
  barrelPhiStripCentre,
  barrelPhiStripCoordinate,
  barrelPhiStripCount,
  barrelPhiStripWidth,
  barrelSectorOf,
  barrelSectorOfPhi,
  barrelZStripCentre,
  barrelZStripCoordinate,
  barrelZStripCount,
  barrelZStripWidth,
  endcapIronPlate,
  endcapLayerZ,
  endcapSectorOf,
  endcapStripCentre,
  endcapStripCoordinate,
  isScintillatorLayer,
  klmHitWidth,
  klmSectionOf,
  klmSlot,
  klmSlotLayer,
  layerCount,
  muidHitVariances,
  octagonRadius,
  stripWidths,
} from "../src/geometry/klm.js";
import { barrelReturnField, endcapReturnField, magneticField, solenoidField } from "../src/geometry/field.js";
import { InputError } from "../src/errors.js";

const DEG = Math.PI / 180;

describe("KLM 29-slot numbering (klm.md §1.4)", () => {
  it("barrel layers 1–15 are slots 0–14, endcap layers 1–14 slots 15–28, both endcaps sharing them", () => {
    expect(KLM_SLOTS).toBe(29);
    for (let layer = 1; layer <= 15; layer++) expect(klmSlot("barrel", layer)).toBe(layer - 1);
    for (let layer = 1; layer <= 14; layer++) expect(klmSlot("forward", layer)).toBe(15 + layer - 1);
    for (let layer = 1; layer <= 12; layer++) expect(klmSlot("backward", layer)).toBe(klmSlot("forward", layer));
    // the backward endcap has only 12 detector layers: slots 27–28 are forward-only
    expect(() => klmSlot("backward", 13)).toThrow(InputError);
    expect(klmSlot("forward", 14)).toBe(28);
  });

  it("slots map back to their region and layer; out-of-range slots and layers are rejected", () => {
    for (let slot = 0; slot < 29; slot++) {
      const { region, layer } = klmSlotLayer(slot);
      expect(klmSlot(region === "barrel" ? "barrel" : "forward", layer)).toBe(slot);
    }
    expect(() => klmSlotLayer(29)).toThrow(InputError);
    expect(() => klmSlotLayer(-1)).toThrow(InputError);
    expect(() => klmSlot("barrel", 0)).toThrow(InputError);
    expect(() => klmSlot("barrel", 16)).toThrow(InputError);
    expect(() => klmSlot("barrel", 2.5)).toThrow(InputError);
    expect(layerCount("barrel")).toBe(15);
    expect(layerCount("forward")).toBe(14);
    expect(layerCount("backward")).toBe(12);
  });

  it("barrel layers 1–2 and all endcap layers are scintillator, barrel 3–15 RPC", () => {
    expect(isScintillatorLayer("barrel", 1)).toBe(true);
    expect(isScintillatorLayer("barrel", 2)).toBe(true);
    for (let layer = 3; layer <= 15; layer++) expect(isScintillatorLayer("barrel", layer)).toBe(false);
    expect(isScintillatorLayer("forward", 14)).toBe(true);
    expect(isScintillatorLayer("backward", 1)).toBe(true);
  });
});

describe("KLM strips (klm.md §3.2–3.3)", () => {
  it("strip widths: scintillator 4.0, RPC z 4.52, RPC φ per layer, endcap 4.0 cm", () => {
    const rpcPhi = [4.9, 5.11, 5.32, 5.53, 4.3, 4.46, 4.62, 4.77, 4.93, 5.09, 5.25, 5.4, 5.56];
    expect(barrelPhiStripWidth(1)).toBe(4.0);
    expect(barrelPhiStripWidth(2)).toBe(4.0);
    expect(barrelZStripWidth(1)).toBe(4.0);
    for (let layer = 3; layer <= 15; layer++) {
      expect(barrelPhiStripWidth(layer)).toBe(rpcPhi[layer - 3]);
      expect(barrelZStripWidth(layer)).toBe(4.52);
    }
    expect(stripWidths("forward", 7)).toEqual([4.0, 4.0]);
    expect(stripWidths("backward", 12)).toEqual([4.0, 4.0]);
  });

  it("strip counts: φ 37/42 scintillators, 36 RPC strips in layers 3–6 and 48 in 7–15; z 54 / 48 (chimney 38 / 34)", () => {
    expect(barrelPhiStripCount(1)).toBe(37);
    expect(barrelPhiStripCount(2)).toBe(42);
    expect(barrelPhiStripCount(6)).toBe(36);
    expect(barrelPhiStripCount(7)).toBe(48);
    expect(barrelZStripCount(1)).toBe(54);
    expect(barrelZStripCount(1, 3, true)).toBe(38);
    expect(barrelZStripCount(9)).toBe(48);
    expect(barrelZStripCount(9, 3, true)).toBe(34);
    expect(barrelZStripCount(9, 3, false)).toBe(48);
  });

  it("the DNN hit width: 2.828 cm for a single-strip scintillator or endcap hit, 3.333 cm for RPC layer 3", () => {
    const single = { uStripMin: 5, uStripMax: 5, vStripMin: 9, vStripMax: 9 };
    expect(klmHitWidth({ section: "barrel", layer: 1, ...single })).toBeCloseTo(2.828, 3);
    expect(klmHitWidth({ section: "forward", layer: 3, ...single })).toBeCloseTo(2.828, 3);
    expect(klmHitWidth({ section: "barrel", layer: 3, ...single })).toBeCloseTo(3.333, 3);
    // two φ strips in layer 3: w1 = 4.90, w2 = 2.26
    expect(klmHitWidth({ section: "barrel", layer: 3, uStripMin: 5, uStripMax: 6, vStripMin: 9, vStripMax: 9 })).toBeCloseTo(Math.hypot(4.9, 2.26), 6);
  });

  it("Muid hit variances: scintillator 16/12 cm², RPC single strip w²/12 × 0.60 (φ) and × 0.55 (z)", () => {
    const single = { uStripMin: 5, uStripMax: 5, vStripMin: 9, vStripMax: 9 };
    const [su, sv] = muidHitVariances({ section: "barrel", layer: 2, ...single });
    expect(su).toBeCloseTo(16 / 12, 12);
    expect(sv).toBeCloseTo(16 / 12, 12);
    const [ru, rv] = muidHitVariances({ section: "barrel", layer: 3, ...single });
    expect(ru).toBeCloseTo(((4.9 * 4.9) / 12) * 0.6, 12);
    expect(rv).toBeCloseTo(((4.52 * 4.52) / 12) * 0.55, 12);
    // two strips: (0.9 + 0.4·0.25)^1.5 = 1
    const [ru2] = muidHitVariances({ section: "barrel", layer: 3, uStripMin: 5, uStripMax: 6, vStripMin: 9, vStripMax: 9 });
    expect(ru2).toBeCloseTo(((4.9 * 4.9) / 12) * 0.6, 12);
    const [ru3] = muidHitVariances({ section: "barrel", layer: 3, uStripMin: 5, uStripMax: 7, vStripMin: 9, vStripMax: 9 });
    expect(ru3).toBeCloseTo(((4.9 * 4.9) / 12) * 0.6 * Math.pow(0.9 + 0.4 * 2.25, 1.5), 12);
  });

  it("barrel strip coordinates invert: a strip's centre lies in that strip", () => {
    for (const layer of [1, 3, 9, 15]) {
      for (const strip of [1, 7, barrelPhiStripCount(layer)]) {
        expect(Math.floor(barrelPhiStripCoordinate(layer, barrelPhiStripCentre(layer, strip))) + 1).toBe(strip);
      }
      for (const strip of [1, 30, 2 * barrelZStripCount(layer)]) {
        expect(Math.floor(barrelZStripCoordinate(layer, barrelZStripCentre(layer, strip))) + 1).toBe(strip);
      }
      // φ strips centred on the sector normal, z strips symmetric about ζ = 0
      expect(barrelPhiStripCentre(layer, 1) + barrelPhiStripCentre(layer, barrelPhiStripCount(layer))).toBeCloseTo(0, 9);
      expect(barrelZStripCentre(layer, 1) + barrelZStripCentre(layer, 2 * barrelZStripCount(layer))).toBeCloseTo(0, 9);
    }
    for (const strip of [1, 40, 75]) expect(Math.floor(endcapStripCoordinate(endcapStripCentre(strip))) + 1).toBe(strip);
    expect(endcapStripCentre(75) + 2).toBeCloseTo(300, 9);
    expect(endcapStripCentre(1) - 2).toBeCloseTo(0, 9);
  });
});

describe("KLM planes and sectors (klm.md §2.3, §3.2–3.3)", () => {
  it("barrel layer middle radii: 203.958, then 203.816 + 9.1(n−1) … 331.22 cm", () => {
    expect(barrelLayerRadius(1)).toBeCloseTo(203.958, 3);
    const listed = [212.92, 222.02, 231.12, 240.22, 249.32, 258.42, 267.52, 276.62, 285.72, 294.82, 303.92, 313.02, 322.12, 331.22];
    for (let n = 2; n <= 15; n++) expect(Math.abs(barrelLayerRadius(n) - listed[n - 2]!)).toBeLessThan(0.006);
    expect(barrelLayerRadius(5, 3) - barrelLayerRadius(5, 1)).toBeCloseTo(-0.0156, 9);
    expect(barrelLayerRadius(5, 7) - barrelLayerRadius(5, 5)).toBeCloseTo(0.0156, 9);
  });

  it("barrel gaps and iron: gap 1 from 201.9 cm, 14 plates of 4.6689 cm between the gaps, the outer plate to 353.5 cm", () => {
    expect(barrelGapInnerRadius(1)).toBe(201.9);
    expect(barrelGapOuterRadius(1)).toBeCloseTo(206.0156, 9);
    for (let plate = 1; plate <= 13; plate++) {
      const [inner, outer] = barrelIronPlate(plate);
      expect(outer - inner).toBeCloseTo(4.6689, 9);
    }
    expect(barrelIronPlate(14)[1]).toBe(353.5);
    let iron = 0;
    for (let plate = 0; plate <= 13; plate++) iron += barrelIronPlate(plate)[1] - barrelIronPlate(plate)[0];
    // 14 × 4.7 cm nominal (physics.md §1.6: 14 plates, 3.9 λ_I)
    expect(Math.abs(iron - 14 * 4.6689)).toBeLessThan(0.02);
  });

  it("endcap layer planes: |z − 47| = 236.9 + 9.1(n−1): forward layer 1 at +283.9, backward layer 1 at −189.9 cm", () => {
    expect(endcapLayerZ("forward", 1)).toBeCloseTo(283.9, 9);
    expect(endcapLayerZ("backward", 1)).toBeCloseTo(-189.9, 9);
    expect(endcapLayerZ("forward", 14) - 47).toBeCloseTo(355.2, 9);
    // iron: 4.7 cm in front of layer 1, between layers and behind layer 14, inside the 230–362.1 cm section
    expect(endcapIronPlate(0)).toEqual([230, expect.closeTo(234.7, 9)]);
    for (let plate = 1; plate <= 13; plate++) {
      const [a, b] = endcapIronPlate(plate);
      expect(b - a).toBeCloseTo(4.7, 9);
    }
    expect(endcapIronPlate(14)[1]).toBeCloseTo(362.1, 9);
  });

  it("barrel sector of φ: int((φ + π/8)/(π/4)) + 1 with the −22.5° polygon start", () => {
    expect(barrelSectorOfPhi(0)).toBe(1);
    expect(barrelSectorOfPhi(22.4 * DEG)).toBe(1);
    expect(barrelSectorOfPhi(22.6 * DEG)).toBe(2);
    expect(barrelSectorOfPhi(-22.4 * DEG)).toBe(1);
    expect(barrelSectorOfPhi(-22.6 * DEG)).toBe(8);
    expect(barrelSectorOfPhi(180 * DEG)).toBe(5);
    expect(barrelSectorOfPhi(270 * DEG)).toBe(7);
    expect(barrelSectorOf(0, 100)).toBe(3);
  });

  it("octagon radius and local barrel coordinates are consistent", () => {
    const g = barrelGlobal(250, 30, -40, 2);
    expect(barrelSectorOf(g.x, g.y)).toBe(2);
    expect(octagonRadius(g.x, g.y)).toBeCloseTo(250, 9);
    const local = barrelLocal(g.x, g.y, g.z, 2);
    expect(local.perp).toBeCloseTo(250, 9);
    expect(local.u).toBeCloseTo(30, 9);
    expect(local.zeta).toBeCloseTo(-40, 9);
    expect(octagonRadius(300 * Math.cos(22.5 * DEG), 300 * Math.sin(22.5 * DEG))).toBeCloseTo(300 * Math.cos(22.5 * DEG), 9);
  });

  it("endcap quadrants and the section of a point", () => {
    expect(endcapSectorOf(10, 10)).toBe(1);
    expect(endcapSectorOf(-10, 10)).toBe(2);
    expect(endcapSectorOf(-10, -10)).toBe(3);
    expect(endcapSectorOf(10, -10)).toBe(4);
    expect(klmSectionOf(250, 0, 47)).toBe("barrel");
    expect(klmSectionOf(200, 0, 300)).toBe("forward");
    expect(klmSectionOf(200, 0, -200)).toBe("backward");
    expect(klmSectionOf(150, 0, 0)).toBeNull();
    expect(klmSectionOf(100, 0, 300)).toBeNull();
  });
});

describe("magnetic field: solenoid and return field in the iron (field.ts, basf2 KLMFieldMap_belle1.dat)", () => {
  const out = { bx: 0, by: 0, bz: 0 };

  it("1.5 T along +z inside the solenoid, scaled by fieldScale, zero between the coil and the KLM", () => {
    expect(solenoidField(0, 0, 0, 1)).toBe(1.5);
    expect(solenoidField(150, 0, 100, 0.5)).toBe(0.75);
    expect(solenoidField(190, 0, 0, 1)).toBe(0);
    magneticField(0, 195, 10, 1, out);
    expect([out.bx, out.by, out.bz]).toEqual([0, 0, 0]);
  });

  it("barrel iron: Bz along −z, the table's values, mean of the 14 plates ≈ −1.07 T (flux return), zero in the gaps", () => {
    expect(barrelReturnField(0, 0, 1)).toBeCloseTo(-1.79445, 9);
    expect(barrelReturnField(8, 0, 1)).toBeCloseTo(-0.70857, 9);
    let mean = 0;
    for (let plate = 0; plate < 14; plate++) mean += barrelReturnField(plate, 0, 1) / 14;
    expect(mean).toBeGreaterThan(-1.15);
    expect(mean).toBeLessThan(-1.0);
    // Φ = B·π·R² inside the coil ≈ the flux through the plates (within 20 %)
    const fluxInside = 1.5 * Math.PI * (1.8125 ** 2);
    let fluxIron = 0;
    for (let plate = 0; plate <= 14; plate++) {
      const [a, b] = barrelIronPlate(plate);
      // octagon ring area: 8 tan(π/8)(b² − a²)
      fluxIron += -barrelReturnField(plate, 0, 1) * 8 * Math.tan(Math.PI / 8) * ((b / 100) ** 2 - (a / 100) ** 2);
    }
    expect(Math.abs(fluxIron / fluxInside - 1)).toBeLessThan(0.2);
    const [inner, outer] = barrelIronPlate(3);
    magneticField(0.5 * (inner + outer), 0, 47, 1, out);
    expect(out.bz).toBeCloseTo(barrelReturnField(3, 0, 1), 12);
    magneticField(barrelLayerRadius(4), 0, 47, 1, out);
    expect(out.bz).toBe(0);
    expect(barrelReturnField(5, 0, 2)).toBeCloseTo(2 * barrelReturnField(5, 0, 1), 12);
  });

  it("endcap iron: radial field outward in the forward endcap, inward in the backward one", () => {
    const [a, b] = endcapIronPlate(5);
    const zeta = 0.5 * (a + b);
    magneticField(0, 250, 47 + zeta, 1, out);
    expect(out.by).toBeGreaterThan(0.5);
    expect(out.bx).toBeCloseTo(0, 12);
    expect(out.bz).toBe(0);
    expect(out.by).toBeCloseTo(endcapReturnField(5, 250, true, 1), 12);
    magneticField(0, 250, 47 - zeta, 1, out);
    expect(out.by).toBeLessThan(-0.5);
  });
});
