//! The standard local tools.

use std::sync::Arc;

use crate::{Tool, ToolsConfig};

#[cfg(feature = "archive")]
mod archive_handler;
mod base64_encoder;
mod calculator;
mod csv_analyzer;
mod data_validation;
#[cfg(feature = "database")]
mod database_connector;
mod date_time_handler;
mod diff_calculator;
#[cfg(feature = "email")]
mod email_sender;
mod environment_reader;
mod file_converter;
mod file_operations;
mod file_search;
#[cfg(feature = "file-watcher")]
mod file_watcher;
mod hash_calculator;
mod json_processor;
#[cfg(feature = "media")]
mod media;
#[cfg(feature = "network")]
mod network;
mod process_executor;
mod service_checker;
#[cfg(feature = "system-monitor")]
mod system_monitor;
mod template_engine;
mod text_manipulator;
mod uuid_generator;

#[cfg(feature = "archive")]
pub use archive_handler::ArchiveHandlerTool;
pub use base64_encoder::Base64EncoderTool;
pub use calculator::CalculatorTool;
pub use csv_analyzer::CsvAnalyzerTool;
pub use data_validation::DataValidationTool;
#[cfg(feature = "database")]
pub use database_connector::DatabaseConnectorTool;
pub use date_time_handler::DateTimeHandlerTool;
pub use diff_calculator::DiffCalculatorTool;
#[cfg(feature = "email")]
pub use email_sender::EmailSenderTool;
pub use environment_reader::EnvironmentReaderTool;
pub use file_converter::FileConverterTool;
pub use file_operations::FileOperationsTool;
pub use file_search::FileSearchTool;
#[cfg(feature = "file-watcher")]
pub use file_watcher::FileWatcherTool;
pub use hash_calculator::HashCalculatorTool;
pub use json_processor::JsonProcessorTool;
#[cfg(feature = "media")]
pub use media::{AudioProcessorTool, ImageProcessorTool, VideoProcessorTool};
#[cfg(feature = "network")]
pub use network::{
    ApiTesterTool, GraphqlQueryTool, HttpRequestTool, SearchProvider, SearchQuery, SearchResult,
    SitemapCrawlerTool, UrlAnalyzerTool, WebScraperTool, WebSearchTool, WebhookCallerTool,
    WebpageMonitorTool,
};
pub use process_executor::ProcessExecutorTool;
pub use service_checker::ServiceCheckerTool;
#[cfg(feature = "system-monitor")]
pub use system_monitor::SystemMonitorTool;
pub use template_engine::TemplateEngineTool;
pub use text_manipulator::TextManipulatorTool;
pub use uuid_generator::UuidGeneratorTool;

/// Every standard tool, configured by `config`.
#[must_use]
pub fn standard_tools(config: &ToolsConfig) -> Vec<Arc<dyn Tool>> {
    #[cfg_attr(
        not(any(
            feature = "archive",
            feature = "file-watcher",
            feature = "system-monitor",
            feature = "network",
            feature = "database",
            feature = "email",
            feature = "media"
        )),
        allow(unused_mut)
    )]
    let mut tools: Vec<Arc<dyn Tool>> = vec![
        Arc::new(Base64EncoderTool::new()),
        Arc::new(CalculatorTool::new()),
        Arc::new(DateTimeHandlerTool::new()),
        Arc::new(DiffCalculatorTool::new()),
        Arc::new(HashCalculatorTool::new()),
        Arc::new(TemplateEngineTool::new()),
        Arc::new(TextManipulatorTool::new()),
        Arc::new(UuidGeneratorTool::new()),
        Arc::new(CsvAnalyzerTool::new()),
        Arc::new(DataValidationTool::new()),
        Arc::new(JsonProcessorTool::new()),
        Arc::new(FileConverterTool::new(config)),
        Arc::new(FileOperationsTool::new(config)),
        Arc::new(FileSearchTool::new(config)),
        Arc::new(EnvironmentReaderTool::new(config)),
        Arc::new(ProcessExecutorTool::new(config)),
        Arc::new(ServiceCheckerTool::new(config)),
    ];
    #[cfg(feature = "archive")]
    tools.push(Arc::new(ArchiveHandlerTool::new(config)));
    #[cfg(feature = "file-watcher")]
    tools.push(Arc::new(FileWatcherTool::new(config)));
    #[cfg(feature = "system-monitor")]
    tools.push(Arc::new(SystemMonitorTool::new()));
    #[cfg(feature = "network")]
    tools.extend(network::network_tools(config));
    #[cfg(feature = "database")]
    tools.push(Arc::new(DatabaseConnectorTool::new(config)));
    #[cfg(feature = "email")]
    tools.push(Arc::new(EmailSenderTool::new(config)));
    #[cfg(feature = "media")]
    {
        tools.push(Arc::new(ImageProcessorTool::new(config)));
        tools.push(Arc::new(AudioProcessorTool::new(config)));
        tools.push(Arc::new(VideoProcessorTool::new(config)));
    }
    tools
}
