//! The memory guard: the ceiling and thresholds every instance uses; raising the ceiling lets
//! paused warms go on.

use leptos::prelude::*;

use crate::format;
use crate::model::jobs::WarmingSettingsInput;
use crate::rpc::jobs::{SaveWarmingSettings, get_warming_settings};
use crate::ui::common::mutation::{Data, use_mutation, use_stale};
use crate::ui::common::session::use_session;

#[component]
pub fn GuardSettings() -> impl IntoView {
    let session = use_session();
    let stale = use_stale();
    let settings = Resource::new(move || stale.track(Data::Settings), |_| get_warming_settings());
    // Not an ActionForm: the ceiling is typed in MB and sent in bytes; blank fields stay unchanged.
    let update = use_mutation::<SaveWarmingSettings>(&[Data::Settings], |_| {
        Some("Memory guard updated for every instance.".into())
    });
    let ceiling_mb = RwSignal::new(String::new());
    let pause = RwSignal::new(String::new());
    let resume = RwSignal::new(String::new());
    let save = move |_| {
        let input = WarmingSettingsInput {
            memory_ceiling_bytes: ceiling_mb
                .get_untracked()
                .trim()
                .parse::<f64>()
                .ok()
                .map(|mb| (mb * 1_048_576.0) as u64),
            memory_pause_percent: pause.get_untracked().trim().parse().ok(),
            memory_resume_percent: resume.get_untracked().trim().parse().ok(),
        };
        update.dispatch(SaveWarmingSettings { input });
    };
    view! {
        <section class="card" id="memory-guard" aria-labelledby="guard-title" data-testid="guard-settings">
            <div class="card-head"><h2 id="guard-title">"Memory guard"</h2></div>
            <Transition fallback=|| ()>
                {move || settings.get().and_then(|r| r.ok()).map(|s| {
                    let ceiling = s.memory_ceiling_bytes.or((s.redis_max_memory > 0).then_some(s.redis_max_memory));
                    view! {
                        <p class="small" data-testid="guard-text">
                            {match ceiling {
                                Some(c) => format!(
                                    "A warm pauses itself when Redis memory plus the rest of its shadow copy passes {} % of {} ({}), and goes on below {} %.",
                                    s.memory_pause_percent,
                                    format::bytes(c),
                                    if s.memory_ceiling_bytes.is_some() { "the configured ceiling" } else { "Redis's maxmemory" },
                                    s.memory_resume_percent
                                ),
                                None => "Off: Redis has no maxmemory and no ceiling is set. Set a ceiling to protect Redis during warms.".to_string(),
                            }}
                        </p>
                    }
                })}
            </Transition>
            <Show when=move || session.can_write()>
                <div class="form-row">
                    <label>"Ceiling " <input class="short" placeholder="MB (0 = maxmemory)" prop:value=ceiling_mb on:input=move |ev| ceiling_mb.set(event_target_value(&ev))/>" MB"</label>
                    <label>"Pause at " <input class="short" prop:value=pause on:input=move |ev| pause.set(event_target_value(&ev))/>" %"</label>
                    <label>"Resume below " <input class="short" prop:value=resume on:input=move |ev| resume.set(event_target_value(&ev))/>" %"</label>
                    <button disabled=update.pending() on:click=save>"Save"</button>
                </div>
            </Show>
        </section>
    }
}
