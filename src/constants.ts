/**
 * Every physics and detector constant of muid-wasm, with its unit and source.
 *
 * Units: cm, GeV, GeV/c, ns, T unless a name says otherwise (…_MEV, …_DEG, …_MB).
 * Status tags as in ../shared/reference/physics.md: [V] verified in the named source, [D] derived,
 * [R] standard value (PDG / Belle NIM / TDR), [A] a modelling assumption (tunable, no measured source).
 * Sections: particles; fundamental; materials; pion cross sections; solenoid and return field;
 * material in front of the ECL; ECL envelope; coil; KLM barrel; KLM endcap; KLM response; transport model;
 * hadronic model. Other helpers append their own delimited sections at the end of the file.
 */

// ───────────────────────────── particles ─────────────────────────────

/** electron mass, GeV/c² (PDG; physics.md §2.1 me = 0.51099895 MeV) [R] */
export const ELECTRON_MASS = 0.51099895e-3;
/** muon mass, GeV/c² (PDG 105.6583755 MeV) [R] */
export const MUON_MASS = 0.1056583755;
/** charged-pion mass, GeV/c² (PDG 139.57039 MeV) [R] */
export const PION_MASS = 0.13957039;
/**
 * Validity range of a particle or track handed to the simulation and the reconstruction: |p| at most
 * 20 GeV/c (SuperKEKB beams are 7 GeV e⁻ on 4 GeV e⁺, so no track from the IP exceeds ~8 GeV/c) and a
 * mass at most 1 GeV/c² (the simulation knows μ and π physics; heavier, slower states only ever
 * stepped for minutes). Outside it the input is an InputError (fuzz findings F2, F3 in docs/security.md).
 */
export const MAX_TRACK_MOMENTUM = 20;
export const MAX_PARTICLE_MASS = 1;
/**
 * Largest |p| at the IP (GeV/c) the KLM reconstruction accepts: far above any physical track, but
 * simulated tracks along the beam axis reach ~10⁴ GeV/c (pz = pT / tan θ with the smeared θ clamped at
 * 1e-4 rad in src/sim/tracking.ts); the bound keeps the float32 features finite (fuzz finding F2).
 */
export const MAX_RECONSTRUCTED_MOMENTUM = 1e6;
/** π± cτ, cm (physics.md §8 #66: 7.8045 m) [R] */
export const PION_CTAU = 780.45;
/** μ cτ, cm (PDG 658.6384 m) [R] */
export const MUON_CTAU = 65863.84;

// ───────────────────────────── fundamental ─────────────────────────────

/** speed of light, cm/ns */
export const SPEED_OF_LIGHT = 29.9792458;
/** K = 4π N_A r_e² m_e c², MeV cm²/mol (physics.md §2.1) [R] */
export const BETHE_K_MEV = 0.307075;
/** Avogadro's number, 1/mol */
export const AVOGADRO = 6.02214076e23;
/** curvature constant: p⊥ [GeV/c] = HELIX_K · |q| · B [T] · R [cm] (0.299792458 GeV/c per T·m) */
export const HELIX_K = 0.00299792458;
/** Highland formula scale, GeV (physics.md §2.3: 13.6 MeV) [R] */
export const HIGHLAND_SCALE = 0.0136;
/** Highland formula logarithmic coefficient (physics.md §2.3: 0.038) [R] */
export const HIGHLAND_LOG_COEFFICIENT = 0.038;

// ───────────────────────────── materials (physics.md §2.1) ─────────────────────────────

/** Bulk constants of one material for Bethe–Bloch (with the Sternheimer density effect) and Highland. */
export interface MaterialConstants {
  name: string;
  /** density, g/cm³ */
  density: number;
  /** ⟨Z/A⟩, mol/g */
  zOverA: number;
  /** mean excitation energy, GeV */
  meanExcitation: number;
  /** radiation length, cm */
  radiationLength: number;
  /** Sternheimer density-effect parameters a, k, x0, x1, C̄, δ0 (physics.md §2.1 table) */
  sternheimerA: number;
  sternheimerK: number;
  sternheimerX0: number;
  sternheimerX1: number;
  sternheimerC: number;
  sternheimerDelta0: number;
}

/** CsI (basf2 ECL-Materials.xml density; PDG 2023 via detray) [V] */
export const CSI: MaterialConstants = {
  name: "CsI", density: 4.51, zOverA: 0.41569, meanExcitation: 553.1e-9, radiationLength: 1.86,
  sternheimerA: 0.25381, sternheimerK: 2.6657, sternheimerX0: 0.0395, sternheimerX1: 3.3353,
  sternheimerC: 6.2807, sternheimerDelta0: 0.0,
};
/** iron (PDG 2020 via detray) [V] */
export const IRON: MaterialConstants = {
  name: "Fe", density: 7.874, zOverA: 0.46557, meanExcitation: 286.0e-9, radiationLength: 1.757,
  sternheimerA: 0.1468, sternheimerK: 2.9632, sternheimerX0: -0.0012, sternheimerX1: 3.1531,
  sternheimerC: 4.2911, sternheimerDelta0: 0.12,
};
/** aluminium (PDG) [R]; X0 8.897 cm [V] */
export const ALUMINIUM: MaterialConstants = {
  name: "Al", density: 2.699, zOverA: 0.48181, meanExcitation: 166.0e-9, radiationLength: 8.897,
  sternheimerA: 0.08024, sternheimerK: 3.6345, sternheimerX0: 0.1708, sternheimerX1: 3.0127,
  sternheimerC: 4.2395, sternheimerDelta0: 0.12,
};
/** fused quartz SiO2 (PDG; density 2.2 g/cm³ of the 2.2–2.32 range) [R] */
export const QUARTZ: MaterialConstants = {
  name: "SiO2", density: 2.2, zOverA: 0.4993, meanExcitation: 139.2e-9, radiationLength: 12.29,
  sternheimerA: 0.08408, sternheimerK: 3.5064, sternheimerX0: 0.1385, sternheimerX1: 3.0025,
  sternheimerC: 4.0029, sternheimerDelta0: 0.0,
};

/** Nuclear composition of a material for pion-nucleus cross sections: nuclei per unit (mole) and their A. */
export interface NuclearComposition {
  /** molar mass of one formula unit, g/mol */
  molarMass: number;
  /** mass numbers A of the nuclei in one formula unit (repeated per atom) */
  nuclei: readonly number[];
}
/** A of Fe, Cs, I, Al, Si, O (Geant4 G4PiNuclearCrossSection table values for Cs/I: physics.md §2.4) */
export const A_IRON = 55.845;
export const A_CESIUM = 133.0;
export const A_IODINE = 127.0;
export const A_ALUMINIUM = 26.98;
export const A_SILICON = 28.09;
export const A_OXYGEN = 16.0;
export const COMPOSITION_IRON: NuclearComposition = { molarMass: 55.845, nuclei: [A_IRON] };
export const COMPOSITION_CSI: NuclearComposition = { molarMass: 259.81, nuclei: [A_CESIUM, A_IODINE] };
export const COMPOSITION_ALUMINIUM: NuclearComposition = { molarMass: 26.98, nuclei: [A_ALUMINIUM] };
export const COMPOSITION_QUARTZ: NuclearComposition = { molarMass: 60.08, nuclei: [A_SILICON, A_OXYGEN, A_OXYGEN] };

// ───────────────────────────── pion inelastic cross sections (physics.md §2.4) ─────────────────────────────

/** momentum grid of the Barashenkov tables, GeV/c (physics.md §2.4) [V] */
export const PION_XS_MOMENTUM = [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0] as const;
/** σ_inel(π⁻ Fe), mb (Geant4 G4PiNuclearCrossSection.cc, physics.md §2.4) [V] */
export const PION_MINUS_FE_XS_MB = [686, 982, 1270, 1183, 1066, 857, 792, 752, 740, 757, 737, 700, 664, 637] as const;
/** σ_inel(π⁺ Fe), mb [V] */
export const PION_PLUS_FE_XS_MB = [331, 788, 1130, 1090, 982, 779, 754, 729, 725, 747, 731, 699, 664, 637] as const;
/** λ_inel(π⁻ in CsI), cm (physics.md §2.4: σ_Cs + σ_I by Geant4's A^0.75 interpolation between Sn and W) [D] */
export const PION_MINUS_CSI_LAMBDA = [36.5, 25.6, 21.3, 22.5, 24.6, 29.1, 33.2, 36.0, 36.7, 36.4, 36.8, 37.9, 39.6, 40.7] as const;
/** λ_inel(π⁺ in CsI), cm [D] */
export const PION_PLUS_CSI_LAMBDA = [102.7, 34.9, 26.0, 25.7, 27.1, 31.2, 35.3, 37.9, 38.1, 37.6, 37.7, 38.4, 39.9, 40.7] as const;
/** σ per nucleus ∝ A^0.75 (Geant4 G4PiNuclearCrossSection::Interpolate); used to scale the Fe table to Al, Si, O [A] */
export const PION_XS_A_EXPONENT = 0.75;

// ───────────────────────────── solenoid and return field ─────────────────────────────

/** solenoid central field, T (Belle NIM table; Belle II reuses the solenoid; physics.md §1.1) [V/R] */
export const SOLENOID_FIELD = 1.5;
/**
 * Radius where the solenoid field ends, cm: the mid-radius of the coil conductor (178.31–184.19 cm,
 * COIL.xml). Inside an ideal solenoid the field falls linearly across the winding; a sharp edge at the
 * middle of the winding gives the same ∫B dr [D].
 */
export const SOLENOID_FIELD_RADIUS = 181.25;
/** z of the solenoid (and KLM) centre w.r.t. the IP, cm (COIL.xml / BKLM.xml OffsetZ) [V] */
export const DETECTOR_Z_OFFSET = 47.0;
/**
 * Half-length of the uniform field region about DETECTOR_Z_OFFSET, cm: up to the endcap-yoke face
 * (BKLM half-length 230 cm), where the flux enters the endcap iron. The measured map
 * (geometry/SolenoidFieldMap.dat.gz) is not available here: uniform 1.5 T is the fast-simulation choice
 * of physics.md §1.1 [A].
 */
export const SOLENOID_FIELD_HALF_LENGTH = 230.0;
/**
 * Return field in the barrel iron (Bz, T): the piecewise-linear per-plate fit of basf2's
 * BFieldComponentKlm1 with geometry/data/KLMFieldMap_belle1.dat (Belle's measured/computed KLM map,
 * ported from g4superb) [V]. Row i = iron plate i (0 = between barrel layers 1 and 2, …, 13 = between
 * layers 14 and 15, 14 = the thick outermost plate). Columns: |z − 47| breakpoint (cm), slope1 (T/cm),
 * intercept1 (T) below it, slope2, intercept2 above it. The field points along −z (return flux of a
 * +z solenoid); its mean over the 14 plates is 1.07 T, what flux conservation gives (15 Wb through
 * ≈15 m² of iron). The radial component of the same map (< 0.3 T) is neglected [A].
 */
export const BARREL_RETURN_FIELD: readonly (readonly [number, number, number, number, number])[] = [
  [138.75, -0.0007045, -1.79445, 0.01964, -4.617],
  [120.25, 6.195e-5, -1.75475, 0.01238, -3.236],
  [74.0, 0.0002554, -1.69475, 0.007269, -2.214],
  [55.5, 0.00066396, -1.61705, 0.005437, -1.882],
  [27.75, 0.0008216, -1.41275, 0.003552, -1.489],
  [37.0, 0.0003396, -0.959725, 0.001336, -0.996],
  [222.0, 0.0001935, -0.76396, 0, -0.721],
  [222.0, 2.405e-5, -0.70834, 0, -0.703],
  [222.0, -6.441e-6, -0.70857, 0, -0.71],
  [222.0, -4.173e-5, -0.699735, 0, -0.709],
  [222.0, 9.91e-6, -0.6922, 0, -0.69],
  [222.0, -1.831e-5, -0.702935, 0, -0.707],
  [222.0, 2.869e-5, -0.71937, 0, -0.713],
  [222.0, 0.00012889, -0.772615, 0, -0.744],
  [185.0, 0.00016854, -0.91627, 0.0072997, -2.2355],
];
/**
 * Return field in the endcap iron (B_r, T, outward in the forward endcap, inward in the backward one):
 * same source, iron rows [V]. Row i = endcap iron plate i (0 = in front of endcap layer 1, i = between
 * layers i and i+1, 14 = behind layer 14); five radial pieces [r breakpoint (cm), slope (T/cm),
 * intercept (T)], the first piece with r < breakpoint applies. Bz in the endcap iron and the fields in
 * the endcap gaps are below 0.4 T over most of the area and are neglected [A].
 */
export const ENDCAP_RETURN_FIELD: readonly (readonly (readonly [number, number, number])[])[] = [
  [[172.5, 0.0284097, -2.84957], [220, 0.000469473, 1.97012], [271.8, -0.0388147, 10.6126], [293.4, -0.0214569, 5.89479], [333.5, -0.0340756, 9.5971]],
  [[129.3, 0.0486046, -4.94078], [190.2, 0.0118062, -0.182747], [229.3, -0.00993606, 3.95264], [281.4, -0.0136173, 4.79674], [333.5, -0.00985451, 3.7379]],
  [[129.3, 0.0284884, -2.03045], [155.4, 0.00308429, 1.2543], [177.1, 0.00440553, 1.04898], [198.8, -0.000497695, 1.91734], [333.5, -0.00874484, 3.55687]],
  [[129.3, 0.0078372, 0.77995], [146.7, -0.00445978, 2.36995], [177.1, -0.00125, 1.89907], [198.8, -0.00318895, 2.24246], [333.5, -0.00669748, 2.93996]],
  [[146.7, -0.00635484, 2.60515], [181.5, -0.00579885, 2.52359], [207.5, -0.00625385, 2.60617], [255.3, -0.0054205, 2.43325], [333.5, -0.00417084, 2.11422]],
  [[146.7, -0.00929032, 2.97009], [181.5, -0.00817242, 2.80609], [207.5, -0.00623461, 2.45438], [255.3, -0.00457134, 2.10925], [333.5, -0.00345218, 1.82353]],
  [[146.3, -0.0108169, 3.14921], [180.4, -0.00854838, 2.81733], [205.9, -0.00618824, 2.39156], [252.8, -0.00442708, 2.02894], [333.5, -0.00285167, 1.63067]],
  [[146.7, -0.0110876, 3.16054], [181.5, -0.0083908, 2.76493], [207.5, -0.00604616, 2.33938], [255.3, -0.0042705, 1.97093], [333.5, -0.00273823, 1.57974]],
  [[146.7, -0.0112304, 3.1579], [181.5, -0.00830172, 2.72826], [207.5, -0.00591154, 2.29444], [255.3, -0.0042, 1.9393], [333.5, -0.00352251, 1.76634]],
  [[146.7, -0.0112581, 3.14406], [181.5, -0.0082069, 2.69645], [207.5, -0.00583462, 2.26588], [255.3, -0.0041408, 1.91442], [333.5, -0.00339374, 1.72369]],
  [[146.7, -0.0112581, 3.12876], [181.5, -0.00812644, 2.66935], [207.5, -0.00577692, 2.24291], [255.3, -0.00409854, 1.89465], [333.5, -0.00344795, 1.72855]],
  [[146.7, -0.0111106, 3.09473], [181.5, -0.00806034, 2.64725], [207.5, -0.00573077, 2.22444], [255.3, -0.00406924, 1.87967], [333.5, -0.00349258, 1.73245]],
  [[146.7, -0.011318, 3.11575], [181.5, -0.00801437, 2.63111], [207.5, -0.0057, 2.21105], [255.3, -0.00404121, 1.86685], [333.5, -0.00340435, 1.70426]],
  [[146.7, -0.0115714, 3.14633], [181.5, -0.00804023, 2.6283], [207.5, -0.00571538, 2.20634], [255.3, -0.00404874, 1.86051], [333.5, -0.00324284, 1.65477]],
  [[146.7, -0.0113641, 3.09931], [181.5, -0.00810919, 2.62182], [207.6, -0.00584407, 2.2107], [255.4, -0.00421841, 1.87321], [333.7, -0.0029927, 1.56017]],
];

// ───────────────────────────── material in front of the ECL (physics.md §1.1, §6) ─────────────────────────────

/** A thin cylindrical shell of material crossed between the IP and the ECL: radius (cm), thickness (cm), material. */
export interface MaterialShell {
  radius: number;
  thickness: number;
  material: "Al" | "SiO2" | "Fe" | "CsI";
}
/**
 * Inner material as thin shells (physics.md §6: "inner detectors ≈1.5 cm Al-equivalent" [A] split into
 * beam pipe + VXD at 12 cm and the CDC inner wall, gas, wires and outer wall at 112 cm; TOP 2 cm quartz at
 * r = 119 cm [V TOP-Bars.xml] and its QBB honeycomb panels, 0.5 cm Al-equivalent [A], at 117.5 and 123.8 cm
 * [V QBB.xml]). They span the whole tracking volume in z [A].
 */
export const INNER_MATERIAL_SHELLS: readonly MaterialShell[] = [
  { radius: 12.0, thickness: 0.5, material: "Al" },
  { radius: 112.0, thickness: 1.0, material: "Al" },
  { radius: 117.5, thickness: 0.25, material: "Al" },
  { radius: 120.0, thickness: 2.0, material: "SiO2" },
  { radius: 123.8, thickness: 0.25, material: "Al" },
];
/** Al-equivalent thickness of the ECL front and rear container walls, cm (physics.md §6: 1 cm in total [A]) */
export const ECL_CONTAINER_FRONT_THICKNESS = 0.5;
export const ECL_CONTAINER_REAR_THICKNESS = 0.5;

// ───────────────────────────── ECL envelope (physics.md §1.2; ecl.md §2) ─────────────────────────────

/** barrel crystal front face radius, cm (Belle NIM "r = 125–162 cm", ECL.xml K_perpC) [V] */
export const ECL_FRONT_RADIUS = 125.0;
/** crystal length, cm (ECL.xml K_BLL) [V] */
export const ECL_CRYSTAL_DEPTH = 30.0;
/** forward endcap front plane z, cm (ECL.xml k_ForwZnear) [V] */
export const ECL_FORWARD_FRONT_PLANE = 196.0;
/** backward endcap front plane z, cm (ECL.xml k_backZnear) [V] */
export const ECL_BACKWARD_FRONT_PLANE = -102.02;
/** polar-angle coverage, degrees (Belle II TDR: forward 12.4–31.4, barrel 32.2–128.7, backward 130.7–155.1) [R] */
export const ECL_FORWARD_COVERAGE_DEG = [12.4, 31.4] as const;
export const ECL_BARREL_COVERAGE_DEG = [32.2, 128.7] as const;
export const ECL_BACKWARD_COVERAGE_DEG = [130.7, 155.1] as const;

// ───────────────────────────── coil and cryostat (physics.md §1.1, COIL.xml) ─────────────────────────────

/** Cylindrical slabs of the cryostat and coil from r = 170 to 200 cm: [inner r, outer r, material] [V/D] */
export const COIL_SLABS: readonly (readonly [number, number, "Fe" | "Al"])[] = [
  [170.0, 170.6, "Fe"],
  [173.3, 173.5, "Al"],
  [178.31, 184.19, "Al"],
  [193.8, 194.0, "Al"],
  [198.0, 200.0, "Fe"],
];
/** cryostat half-length about DETECTOR_Z_OFFSET, cm (COIL.xml) [V] */
export const COIL_HALF_LENGTH = 220.5;
/** cryostat inner and outer radius, cm [V] */
export const COIL_INNER_RADIUS = 170.0;
export const COIL_OUTER_RADIUS = 200.0;

// ───────────────────────────── KLM barrel (klm.md §3.2, BKLM.xml, GeometryPar.cc) ─────────────────────────────

export const BKLM_LAYERS = 15;
export const BKLM_SECTORS = 8;
/** first layers with RPCs (BKLMElementNumbers c_FirstRPCLayer) [V] */
export const BKLM_FIRST_RPC_LAYER = 3;
/** inner radius of gap 1, cm (Layers/InnerRadius) [V] */
export const BKLM_INNER_RADIUS = 201.9;
/** gap 1 actual height (layer 1 gap middle = 201.9 + 4.1156/2) and gaps 2–15, cm (GeometryPar) [V] */
export const BKLM_GAP1_HEIGHT = 4.1156;
export const BKLM_GAP_HEIGHT = 4.4311;
/** nominal inner radius of gap n ≥ 2 is BKLM_GAP_INNER_RADIUS + pitch·(n−1), cm (201.9 + 8.8 − 9.1) [V] */
export const BKLM_GAP_INNER_RADIUS = 201.6;
/** layer pitch, cm [V] */
export const BKLM_LAYER_PITCH = 9.1;
/** iron plate thickness as built, cm (IronActualHeight) [V] */
export const BKLM_IRON_THICKNESS = 4.6689;
/** octagon inscribed outer radius, cm (OuterRadius) [V] */
export const BKLM_OUTER_RADIUS = 353.5;
/** barrel half-length about DETECTOR_Z_OFFSET, cm (HalfLength) [V] */
export const BKLM_HALF_LENGTH = 230.0;
/** active-radius offsets of sectors 2–4 (−) and 6–8 (+), cm (klm.md §3.2) [V] */
export const BKLM_SECTOR_RADIUS_OFFSET = 0.0156;
/** scintillator strip width (layers 1–2, both views), cm [V] */
export const BKLM_SCINTILLATOR_STRIP_WIDTH = 4.0;
/** scintillator strip thickness, cm [V] */
export const BKLM_SCINTILLATOR_THICKNESS = 1.0;
/** φ-strip counts of layers 1–2 (scintillator) [V] */
export const BKLM_SCINTILLATOR_PHI_STRIPS = [37, 42] as const;
/** z-strip count of scintillator layers (38 in the chimney sector) [V] */
export const BKLM_SCINTILLATOR_Z_STRIPS = 54;
/** RPC z-strip width (all layers), cm, and count (34 in the chimney sector) [V] */
export const BKLM_RPC_Z_STRIP_WIDTH = 4.52;
export const BKLM_RPC_Z_STRIPS = 48;
/** RPC φ-strip widths of layers 3–15, cm (klm.md §3.2) [V] */
export const BKLM_RPC_PHI_STRIP_WIDTH = [4.9, 5.11, 5.32, 5.53, 4.3, 4.46, 4.62, 4.77, 4.93, 5.09, 5.25, 5.4, 5.56] as const;
/** RPC φ-strip counts: 36 for layers 1–6, 48 for layers 7–15 [V] */
export const BKLM_RPC_PHI_STRIPS_INNER = 36;
export const BKLM_RPC_PHI_STRIPS_OUTER = 48;
/** backward sector 3 is the chimney sector (BKLMElementNumbers c_ChimneySector) [V] */
export const BKLM_CHIMNEY_SECTOR = 3;
/** Al-equivalent detector material in each gap, cm (physics.md §6: 1 cm [A]) */
export const KLM_GAP_MATERIAL_THICKNESS = 1.0;

// ───────────────────────────── KLM endcap (klm.md §3.3, EKLM.xml) ─────────────────────────────

/** detector layers: forward 14, backward 12; 14 layer slots [V] */
export const EKLM_FORWARD_LAYERS = 14;
export const EKLM_BACKWARD_LAYERS = 12;
export const EKLM_LAYER_SLOTS = 14;
export const EKLM_SECTORS = 4;
/** |z − 47| of the endcap section front face and its length, cm (Z 2960.5 mm, Length 1321 mm) [V] */
export const EKLM_SECTION_FRONT = 230.0;
export const EKLM_SECTION_LENGTH = 132.1;
/** |z − 47| of the middle of layer 1, cm, and the layer pitch (ShiftZ 91 mm) [V] */
export const EKLM_FIRST_LAYER_MIDDLE = 236.9;
export const EKLM_LAYER_PITCH = 9.1;
/** layer (gap) thickness, cm (Layer Length 44 mm) [V] */
export const EKLM_GAP_HEIGHT = 4.4;
/** section radii (Muid EndcapMinR/MaxR), cm [V] */
export const EKLM_SECTION_INNER_RADIUS = 128.0;
export const EKLM_SECTION_OUTER_RADIUS = 353.5;
/** active layer radii (Layer InnerR/OuterR), cm [V] */
export const EKLM_ACTIVE_INNER_RADIUS = 130.5;
export const EKLM_ACTIVE_OUTER_RADIUS = 332.0;
/** strip width, cm, strips per plane [V] */
export const EKLM_STRIP_WIDTH = 4.0;
export const EKLM_STRIPS = 75;
/** strip thickness, cm [V] */
export const EKLM_STRIP_THICKNESS = 0.7;

// ───────────────────────────── KLM response (physics.md §1.5, §5.4) ─────────────────────────────

/** default per-layer efficiency (physics.md §1.5: 0.96 [P], range 0.90–0.99) */
export const KLM_LAYER_EFFICIENCY_DEFAULT = 0.96;
/**
 * RPC strip-multiplicity weights for 1–4 strips, by division 0 (hit at strip centre) … 4 (edge), for the
 * φ and z planes (basf2 klm/data/BKLMSimulationPar.xml, RPCStripMultiplicity; division =
 * floor(|position in strip − 0.5| × 10)) [V]
 */
export const RPC_PHI_MULTIPLICITY_WEIGHTS = [
  [844950, 118387, 39053, 3785],
  [684029, 148487, 36498, 3763],
  [513808, 217797, 34805, 4007],
  [309884, 348114, 33736, 4151],
  [144984, 510842, 33120, 4614],
] as const;
export const RPC_Z_MULTIPLICITY_WEIGHTS = [
  [771589, 145162, 61141, 6945],
  [591559, 172550, 52663, 6351],
  [436281, 257491, 51890, 6905],
  [243331, 411704, 49431, 7286],
  [113533, 573758, 47143, 8092],
] as const;
/** KLM hit time resolution, ns (old BKLMDigitizerModule default 3 ns, physics.md §1.5) [V] */
export const KLM_TIME_RESOLUTION = 3.0;
/** probability that a muon crossing adds a δ-ray strip next to its cluster in a plane [A] */
export const KLM_DELTA_RAY_PROBABILITY = 0.03;
/**
 * Beam-background 2-D hits per cm² of layer per event at ×1 [A]. physics.md §5.4 suggests 1–3 % per layer
 * (endcap and barrel layers 1–2) and 0.3–1 % (barrel RPC layers) inside a Muid search window; with a
 * ≈30 × 30 cm² window the low ends give these densities.
 */
export const KLM_BACKGROUND_DENSITY_SCINTILLATOR = 1.1e-5;
export const KLM_BACKGROUND_DENSITY_RPC = 3.3e-6;
/** background hits are uniform in time within ±this window around the collision, ns [A] */
export const KLM_BACKGROUND_TIME_WINDOW = 50.0;

// ───────────────────────────── transport model ─────────────────────────────

/**
 * largest fractional momentum loss per step in matter [A]. The mean loss of a step is exact at any step
 * length (CSDA range tables); the limit bounds the curvature error of a helix at the step's start
 * momentum and the granularity of scattering and straggling (geant4e in Muid uses 0.05, klm.md §2.2).
 */
export const STEP_MAX_MOMENTUM_LOSS = 0.15;
/** largest step in CsI, cm: deposits must resolve ≈5.5 cm crystals [A] */
export const ECL_MAX_STEP = 5.0;
/** largest step in field-free or uniform-field vacuum/air, cm (bounds the tangential-miss risk) [A] */
export const VACUUM_MAX_STEP = 200.0;
/** a particle below this kinetic energy is stopped, GeV (Muid MinKE 0.002 GeV, klm.md §2.2) [V] */
export const TRANSPORT_MIN_KINETIC_ENERGY = 0.002;
/** a particle whose path exceeds this is abandoned as a looper, cm [A] */
export const TRANSPORT_MAX_PATH = 3000.0;
/** outer limit of the world: Muid's target cylinder radius 353.5/cos(π/8) cm (klm.md §2.2) [V] */
export const WORLD_RADIUS = 382.6;
/** particles below this radius outside the tracking volume are lost in the beam line, cm [A] */
export const BEAMLINE_RADIUS = 40.0;
/** κ = ξ/W_max above which the energy-loss fluctuation is Gaussian (Bohr) rather than Landau–Vavilov (physics.md §5.1: κ ≳ 0.3) [R] */
export const VAVILOV_GAUSSIAN_KAPPA = 0.3;

// ───────────────────────────── hadronic model (physics.md §5.2, §6) [A] ─────────────────────────────

/** probability that an inelastic interaction leaves a leading pion (physics.md §6: 20–40 %; the low end keeps the 1–3 GeV/c punch-through of all 14 plates below 1 %) [A] */
export const LEADING_PION_PROBABILITY = 0.2;
/**
 * leading-pion kinetic-energy fraction ~ U(min, max) [A]. physics.md §6 suggests U(0.3, 0.9); U(0.2, 0.8)
 * (a roughly flat Feynman-x of the leading hadron) keeps the 3 GeV/c punch-through of all 14 plates,
 * leading pions included, below 1 % (0.96 % with U(0.3, 0.9) and 20 % survival).
 */
export const LEADING_PION_ENERGY_FRACTION = [0.2, 0.8] as const;
/** rms transverse momentum given to the leading pion, GeV/c (typical hadronic p⊥ ≈ 0.3 GeV/c) [A] */
export const LEADING_PION_PT_KICK = 0.3;
/** visible fraction of the released kinetic energy in CsI: Beta(α, β), integer shapes, mean 4/9 = 0.44 (physics.md §5.2 "0.4–0.5") [A] */
export const HADRONIC_VISIBLE_BETA = [4, 5] as const;
/** share of the visible hadronic energy carried by π⁰ photons (EM showers) [A] */
export const HADRONIC_EM_FRACTION = 0.3;
/** number of secondary blobs 0–3 and their distance scale, cm (physics.md §5.2: exponential scale ≈ 8 cm) [A] */
export const HADRONIC_MAX_BLOBS = 3;
export const HADRONIC_BLOB_DISTANCE = 8.0;
/** visible energy of a stopped-π⁻ star in CsI, GeV: uniform in this range (physics.md §5.2 "several MeV") [A] */
export const PION_STAR_ENERGY = [0.005, 0.04] as const;
/** kinetic energy of the μ⁺ from a stopped π⁺ → μ⁺ν, GeV (physics.md §5.2: 4.1 MeV) [D] */
export const PION_STOP_MUON_ENERGY = 0.0041;
/** nuclear interaction length λ_I of iron, cm (PDG atomic and nuclear properties: 16.77 cm; physics.md §1.6: 3.90 λ_I in 14 × 4.6689 cm) [R] */
export const IRON_NUCLEAR_INTERACTION_LENGTH = 16.77;
/**
 * Longitudinal reach of a hadronic shower in the KLM iron [R: C. Fabjan, F. Gianotti, Rev. Mod. Phys. 75 (2003)
 * 1243, and the PDG review "Calorimetry"]: the shower maximum lies at t_max ≈ (0.2 ln(E/GeV) + 0.7) λ_I and the
 * tail falls off with λ_att ≈ λ_I (E/GeV)^0.13 (95 % containment at t_max + 2.5 λ_att). The deepest iron depth
 * its charged secondaries reach is drawn as t_max + λ_att · Exp(1) [A], so that a 2 GeV/c pion absorbed in
 * layer 4 leaves hits out to layer ≈ 11: the deep, gappy penetration that fakes the likelihood
 * (arXiv:2503.11351 "N_hit 8–10 of N_ext 14", issue #4).
 */
export const KLM_SHOWER_TMAX_LOG_SLOPE = 0.2;
export const KLM_SHOWER_TMAX_OFFSET = 0.7;
export const KLM_SHOWER_ATTENUATION_EXPONENT = 0.13;
/** probability that a detector layer inside the shower's reach has a shower hit (secondaries are few and soft, so layers are skipped) [A] */
export const KLM_SHOWER_LAYER_PROBABILITY = 0.75;
/** extra half-width of shower clusters in the KLM, cm: exponential with this mean [A] */
export const KLM_SHOWER_WIDTH = 6.0;
/** lateral spread (σ per transverse coordinate) of a shower hit about the shower axis: core + growth per λ_I of iron travelled, cm [A] (95 % lateral containment ≈ 1 λ_I, PDG "Calorimetry") */
export const KLM_SHOWER_CORE_SPREAD = 3.0;
export const KLM_SHOWER_SPREAD_PER_LAMBDA = 6.0;
/** mean number of further hits per shower layer from other secondaries (Poisson), spread twice as wide as the main hit [A] */
export const KLM_SHOWER_EXTRA_HITS = 0.4;

// ============================================================================================
// Generators, decay in flight and tracking resolution (generator helper: src/sim/generators.ts,
// src/sim/decay.ts, src/sim/tracking.ts, src/sim/event.ts). Appended section.
// ============================================================================================

/** Default ECL crystal threshold of the simulated readout, GeV: the CNN's 1 MeV (ecl.md §1.5). */
export const ECL_THRESHOLD_DEFAULT = 0.001;

/** ECL-study gun (θ range: ECL_BARREL_COVERAGE_DEG): pT flat in 0.28–1.0 GeV/c at the IP (physics.md §9.3: 0.28 GeV/c reaches the barrel; CNN pT ≤ 1.0, ecl.md §0). */
export const ECL_GUN_PT_MIN = 0.28;
export const ECL_GUN_PT_MAX = 1.0;

/** KLM-study gun: p flat in 0.6–5 GeV/c (issue 3 item 6; KLM threshold ≈0.6 GeV/c, physics.md §0). */
export const KLM_GUN_P_MIN = 0.6;
export const KLM_GUN_P_MAX = 5.0;
/** KLM acceptance θ 18°–155°, uniform in cos θ (basf2 klm/validation/KLMMuonGenerate.py, klm.md §4.4). */
export const KLM_GUN_THETA_MIN_DEG = 18;
export const KLM_GUN_THETA_MAX_DEG = 155;
/**
 * Guns of the combined muon-probability calibration sample (src/train/combinedMuonId.ts), GeV/c: p flat
 * in 0.2–5 on even events and 0.2–2 on odd ones, so that the ECL-only region below 0.6 GeV/c and the
 * KLM turn-on are well populated [A].
 */
export const COMBINED_GUN_P_MIN = 0.2;
export const COMBINED_GUN_P_MAX = 5;
export const COMBINED_LOW_GUN_P_MAX = 2;
/**
 * ECL CNN pT acceptance at the ECL, GeV/c (basf2 CNN_PID_ECL pt_range = (0.2, 1.0), inclusive;
 * ecl.md §1.6). A module parameter of the basf2 algorithm.
 */
export const ECL_CNN_PT_MIN = 0.2;
export const ECL_CNN_PT_MAX = 1.0;
/** Tracks per KLM-study event, 4–16 (DNN training sample, physics.md §3.3 [P]). */
export const KLM_GUN_TRACKS_MIN = 4;
export const KLM_GUN_TRACKS_MAX = 16;

/** BB̄ charged multiplicity: mean 10.71 per pair (CLEO hep-ex/9907057, physics.md §7 [V]); σ and limits of the §7 recipe [A]. */
export const BBBAR_MULTIPLICITY_MEAN = 10.71;
export const BBBAR_MULTIPLICITY_SIGMA = 3;
export const BBBAR_MULTIPLICITY_MIN = 2;
export const BBBAR_MULTIPLICITY_MAX = 24;
/** Fraction of BB̄ tracks that are muons (physics.md §7: ≈3–4 %; recipe 0.04) [D/R]. */
export const BBBAR_MUON_FRACTION = 0.04;
/** Υ(4S)-frame momentum spectra, Gamma(shape, scale GeV/c): pions mean 0.7, muons mean 1.3 GeV/c (physics.md §7 recipe) [A]. */
export const BBBAR_PION_GAMMA_SHAPE = 2;
export const BBBAR_PION_GAMMA_SCALE = 0.35;
export const BBBAR_MUON_GAMMA_SHAPE = 2;
export const BBBAR_MUON_GAMMA_SCALE = 0.65;
/** Upper end of the Υ(4S)-frame spectrum, GeV/c (B → Xℓν endpoint ≈2.6 GeV/c, physics.md §7) [R]. */
export const BBBAR_CM_MOMENTUM_MAX = 2.6;
/** Υ(4S) boost βγ along +z for 7 GeV e⁻ × 4 GeV e⁺: (7 − 4)/10.583 (physics.md §7) [D]. */
export const UPSILON4S_BETA_GAMMA = 0.2835;

/**
 * Tracking resolution at the IP. pT: σ(pT)/pT = 0.0011·pT[GeV/c] ⊕ 0.0025/β (Belle II TDR,
 * arXiv:1011.0352, CDC) [R]. Impact parameters and angles: constant ⊕ multiple-scattering term
 * a ⊕ b/(pβ sin^k θ) with Belle II-like magnitudes (≈15–20 µm, ≈0.5 mrad) [A, not verified].
 */
export const TRACK_PT_RESOLUTION_LINEAR = 0.0011; // per GeV/c
export const TRACK_PT_RESOLUTION_CONSTANT = 0.0025;
export const TRACK_D0_RESOLUTION_CONSTANT = 0.0015; // cm (15 µm)
export const TRACK_D0_RESOLUTION_SCATTERING = 0.0025; // cm·GeV/c, divided by pβ sin^1.5 θ
export const TRACK_Z0_RESOLUTION_CONSTANT = 0.002; // cm (20 µm)
export const TRACK_Z0_RESOLUTION_SCATTERING = 0.003; // cm·GeV/c, divided by pβ sin^2.5 θ
export const TRACK_ANGLE_RESOLUTION_CONSTANT = 0.0005; // rad
export const TRACK_ANGLE_RESOLUTION_SCATTERING = 0.0015; // rad·GeV/c, divided by pβ

// ============================================================================================
// ECL response (ECL helper: src/geometry/ecl*.ts, src/sim/eclResponse.ts). Appended section.
// The crystal tables (rings, offsets, barrel ring angles) live in src/geometry/ecl.ts as detector
// definitions (ecl.md §2); the ECL envelope is the section "ECL envelope" above.
// ============================================================================================

/** CsI Molière radius, cm: X0·E_s/E_c = 1.86 · 21.2052 / 11.17 (physics.md §2.1, master table #39) [D] */
export const CSI_MOLIERE_RADIUS = 3.53;
/**
 * Fraction of a MIP's ionisation energy spread sideways by δ rays and bremsstrahlung with a
 * Molière-radius profile; about half of it leaves a centrally crossed barrel crystal, i.e. ≈1 % of the
 * MIP energy in the neighbours, more for a track near a crystal edge (physics.md §5.1: "of order 1–3 % to
 * neighbours") [A]. 0.025–0.03 would push a neighbour of most 2–4 GeV/c muons over 1 MeV.
 */
export const ECL_DELTA_RAY_LEAKAGE_FRACTION = 0.02;
/**
 * Lateral profile radius of a "hadronic" deposit (one blob of visible energy of nuclear fragments and
 * soft secondaries), cm; the blobs themselves are placed by the transport's hadronic model
 * (HADRONIC_MAX_BLOBS, HADRONIC_BLOB_DISTANCE) (physics.md §5.2: no quantitative reference, tunable) [A]
 */
export const ECL_HADRONIC_PROFILE_RADIUS = 3.53;
/**
 * ECL beam background at level ×1 (physics.md §5.3, parametric [A]): mean number of background deposits
 * ≥ ECL_BACKGROUND_MIN_ENERGY per barrel crystal per event, each of energy
 * ECL_BACKGROUND_MIN_ENERGY + Exp(ECL_BACKGROUND_SLOPE). With 0.1 deposits: ≈7.9 % of crystals above
 * 1 MeV (≈3.9 of the 49 window pixels; §5.3 "≈1–10 of 49") and ≈0.7 % above 7 MeV (≈45 barrel crystals in
 * the in-time window, against basf2's ≈183 out-of-time digits ≥ 7 MeV over the whole ECL, c_nominalBG).
 */
export const ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL = 0.1;
/** lower edge of the background deposit spectrum, GeV [A] */
export const ECL_BACKGROUND_MIN_ENERGY = 0.0005;
/** exponential slope of the background deposit spectrum, GeV (physics.md §5.3: s = 2–3 MeV) [A] */
export const ECL_BACKGROUND_SLOPE = 0.0025;
/** background rate per region relative to the barrel: the endcaps, the backward one most, are noisier (physics.md §5.3) [A] */
export const ECL_BACKGROUND_REGION_FACTOR: Readonly<Record<"forward" | "barrel" | "backward", number>> = { forward: 1.5, barrel: 1.0, backward: 2.0 };
/** crystal energies are clipped at 1 GeV, as the CNN preprocessing does (ecl.md §1.5, np.clip(energy, 0, 1.0)) [V] */
export const ECL_CLIP_ENERGY = 1.0;

// ───────────────────────────── Muid algorithm parameters (klm.md §2.2–2.5) ─────────────────────────────
// Settings of basf2's Muid module and its track extrapolator (tracking/modules/muid MuidModule.cc,
// TrackExtrapolateG4e.cc) that the KLM reconstruction reproduces.

/** MaxDistSigma: per-coordinate association gate in σ of H C Hᵀ + V (MuidModule, klm.md §2.4) [V] */
export const MUID_MAX_DIST_SIGMA = 3.5;
/** same-sector barrel candidates need |dn| < 2 cm; endcap candidates |dn| ≤ 2 cm (findMatching*Hit, §2.4) [V] */
export const MUID_SAME_PLANE_MAX_DN = 2.0;
/** adjacent-sector barrel candidates: |dn| ≤ 50 cm, plane mismatch ≤ 1 cm, track projection ≤ 15 cm (§2.4) [V] */
export const MUID_ADJACENT_MAX_DN = 50.0;
export const MUID_ADJACENT_PLANE_TOLERANCE = 1.0;
export const MUID_ADJACENT_MAX_PROJECTION = 15.0;
/** adjustIntersection skips a track nearly tangent to the readout plane: |d̂·n̂_A| < 1e-6 (§2.5) [V] */
export const MUID_MIN_DIRECTION_NORMAL = 1e-6;
/** MeanDt and MaxDt: hits with |t − MeanDt| > MaxDt are ignored, ns (MuidModule, §2.2) [V] */
export const MUID_MEAN_DT = 0.0;
export const MUID_MAX_DT = 10000.0;
/** MinPt: tracks below this transverse momentum are not extrapolated, GeV/c (§2.2) [V] */
export const MUID_MIN_PT = 0.1;
/** With B = 0 the hit variances are multiplied by 10 (adjustIntersection, §2.2) [V] */
export const MUID_ZERO_FIELD_VARIANCE_SCALE = 10.0;

/** Muid's barrel volume for crossings and updated points: 201.9 < r < 353.5/cos(π/8) cm, |z − 47| < 230 cm (§2.2–2.3) [V] */
export const MUID_BARREL_MIN_R = BKLM_INNER_RADIUS;
export const MUID_BARREL_MAX_R = WORLD_RADIUS;
export const MUID_BARREL_HALF_LENGTH = BKLM_HALF_LENGTH;
/** Muid's endcap volume: 128 < r < 353.5 cm, ||z − 47| − 296.05| < 66.05 cm (§3.3 EndcapMiddleZ, EndcapHalfLength) [V] */
export const MUID_ENDCAP_MIN_R = EKLM_SECTION_INNER_RADIUS;
export const MUID_ENDCAP_MAX_R = EKLM_SECTION_OUTER_RADIUS;
export const MUID_ENDCAP_HALF_LENGTH = EKLM_SECTION_LENGTH / 2;
export const MUID_ENDCAP_MIDDLE_Z = EKLM_SECTION_FRONT + MUID_ENDCAP_HALF_LENGTH;
