// Which pions fake muons at the 90 % muon-efficiency cut of the DNN and of the likelihood: decays in flight or not.
// node scripts/klm-fake-decays.mjs DNN.safetensors LIKELIHOOD.json EVENTS SEED (KLM study gun, truth p > 0.7 GeV/c)
import { readFileSync } from "node:fs";
import { importTs } from "../bench/bundle.mjs";
const m = await importTs([
  'export { defaultDetectorConditions, eventRandom, simulateEvent } from "./src/sim/event.ts";',
  'export { generateGunEvent, klmStudyGun } from "./src/sim/generators.ts";',
  'export { KlmReconstructor, hasKlmDnnValue } from "./src/reco/klmChain.ts";',
  'export { likelihoodScoreOf } from "./src/train/klmSample.ts";',
  'export { KlmLikelihood } from "./src/reco/muidLikelihood.ts";',
  'export { loadModel } from "./src/models/load.ts";',
]);
const [dnnFile, likFile, events, seed] = process.argv.slice(2);
const lik = m.KlmLikelihood.fromJsonText(readFileSync(likFile, "utf8"));
const dnn = await m.loadModel(readFileSync(dnnFile));
const reco = await m.KlmReconstructor.create({ likelihood: lik, keepCrossings: false });
const cond = m.defaultDetectorConditions(); const gun = m.klmStudyGun();
const rows = [];
for (let e = 0; e < +events; e++) {
  const rng = m.eventRandom(+seed, e);
  const sim = m.simulateEvent(m.generateGunEvent(gun, rng), e, rng, cond);
  if (!sim.length) continue;
  const rec = reco.reconstructEvent(sim.map((r) => r.ip), sim[0].klmHits);
  rec.forEach((r, i) => {
    if (!m.hasKlmDnnValue(r)) return;
    const t = sim[i].truth;
    rows.push({ r, mu: Math.abs(t.pdg) === 13, dif: t.decayedInFlight, p: t.p });
  });
}
const sel = rows.filter((x) => x.p > 0.7);
const feats = new Float32Array(sel.length * 121); sel.forEach((x, i) => feats.set(x.r.features, i * 121));
const out = dnn.predict({ features: feats }, sel.length);
sel.forEach((x, i) => { x.dnn = out.logits[2 * i + 1] - out.logits[2 * i]; x.lik = m.likelihoodScoreOf(x.r); });
for (const key of ["lik", "dnn"]) {
  const mus = sel.filter((x) => x.mu).map((x) => x[key]).sort((a, b) => a - b);
  const cut = mus[Math.floor(0.1 * mus.length)];
  const pis = sel.filter((x) => !x.mu); const fake = pis.filter((x) => x[key] >= cut);
  const dif = fake.filter((x) => x.dif).length;
  console.log(`${key}: pions ${pis.length} (decayed in flight ${pis.filter((x) => x.dif).length}), fakes ${fake.length} = ${(100 * fake.length / pis.length).toFixed(2)} %, of which decayed in flight ${dif} (${(100 * dif / fake.length).toFixed(0)} %); non-decay fake rate ${(100 * (fake.length - dif) / pis.length).toFixed(2)} %`);
}
